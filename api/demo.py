"""Demo data: keys with known secrets and outages in every state, so there is something to see."""

from datetime import timedelta

from api.customers import import_customers
from api.demo_customers import synthetic_customers
from api.service import OutageService
from schemas.keys import ApiKey
from schemas.kinds import ChangeType, OutageKind, Role
from schemas.outage import ChangeRequest, OutageSubmission, Scope
from store.api_keys import ApiKeyStore
from store.customers import CustomerStore

DEMO_CUSTOMERS = 30_000

DEMO_REGION = "310115"
OTHER_REGION = "440305"
# (secret, name, centre, region, roles). Known secrets: the demo must never run against real data.
DEMO_KEYS = (
    ("demo-submitter", "Pudong dispatch desk", "pudong-dispatch", DEMO_REGION, {Role.SUBMITTER}),
    ("demo-reviewer", "Pudong publication reviewer", "pudong-dispatch", DEMO_REGION, {Role.REVIEWER}),
    ("demo-emergency", "Pudong emergency group", "pudong-dispatch", DEMO_REGION, {Role.EMERGENCY}),
    (
        "demo-nanshan",
        "Nanshan dispatch (other region)",
        "nanshan-dispatch",
        OTHER_REGION,
        {Role.SUBMITTER, Role.REVIEWER},
    ),
)


def _submission(external_id: str, kind: OutageKind, **fields: object) -> OutageSubmission:
    base: dict[str, object] = {
        "external_id": external_id,
        "kind": kind,
        "region": DEMO_REGION,
        "scope": Scope(feeders=["ZJ-10kV-03"]),
    }
    return OutageSubmission(**{**base, **fields})  # type: ignore[arg-type]


async def load_demo(service: OutageService) -> list[str]:
    """Loads once: a second run finds the demo keys and changes nothing. Returns lines to print."""
    api_keys = ApiKeyStore(service.redis)
    if await api_keys.by_secret(DEMO_KEYS[0][0]) is not None:
        return ["demo data already loaded"]
    now = service.clock()
    keys: dict[str, ApiKey] = {}
    for secret, name, centre, region, roles in DEMO_KEYS:
        key, _ = await api_keys.create(
            name=name, centre=centre, region=region, roles=frozenset(roles), now=now, secret=secret
        )
        keys[secret] = key
    submitter, reviewer = keys["demo-submitter"], keys["demo-reviewer"]
    report = await import_customers(service.redis, synthetic_customers(DEMO_CUSTOMERS))
    # A few customers have replied STOP: they are counted, never texted.
    for n in range(0, DEMO_CUSTOMERS, 53):
        customer = await CustomerStore(service.redis).get(f"D{n:09d}")
        if customer is not None:
            await CustomerStore(service.redis).set_opted_out(customer.phone, True)
    day = now.astimezone(service.settings.zone).replace(hour=8, minute=0, second=0, microsecond=0)

    planned, _ = await service.submit(
        _submission(
            "DEMO-PL-1",
            OutageKind.PLANNED,
            title="10 kV Zhangjiang line 3 maintenance",
            reason="Replacing switchgear on the 10 kV Zhangjiang line 3",
            area_description="Zhangjiang Hi-Tech Park, Lane 88-200 Keyuan Road",
            scope=Scope(feeders=["ZJ-10kV-03"], transformer_areas=["TA-ZJ-0312", "TA-ZJ-0313"]),
            starts_at=day + timedelta(days=9),
            ends_at=day + timedelta(days=9, hours=9),
        ),
        submitter,
    )
    await service.approve(planned.id, reviewer)

    postponed, _ = await service.submit(
        _submission(
            "DEMO-PL-2",
            OutageKind.PLANNED,
            title="Transformer replacement, Huamu Road",
            reason="Replacing an overloaded 630 kVA transformer",
            area_description="Huamu Road residential blocks 1-14",
            scope=Scope(transformer_areas=["TA-HM-0107"]),
            starts_at=day + timedelta(days=10),
            ends_at=day + timedelta(days=10, hours=6),
        ),
        submitter,
    )
    await service.approve(postponed.id, reviewer)
    await service.change(
        postponed.id,
        ChangeRequest(
            type=ChangeType.POSTPONE,
            reason="Heavy rain forecast for the original day",
            starts_at=day + timedelta(days=12),
            ends_at=day + timedelta(days=12, hours=6),
        ),
        submitter,
    )
    await service.approve(postponed.id, reviewer)

    await service.submit(
        _submission(
            "DEMO-TMP-1",
            OutageKind.TEMPORARY,
            title="Urgent repair of a leaking ring main unit",
            reason="Oil leak found on ring main unit RMU-ZJ-17 during inspection",
            area_description="Chuanqiao Road 18-60",
            scope=Scope(feeders=["ZJ-10kV-07"]),
            starts_at=day + timedelta(days=2, hours=1),
            ends_at=day + timedelta(days=2, hours=5),
        ),
        submitter,
    )

    fault_at = now - timedelta(minutes=9)
    await service.submit(
        _submission(
            "DEMO-F-1",
            OutageKind.FAULT,
            title="Cable fault on 10 kV Huamu line 1",
            reason="Underground cable damaged by construction work",
            area_description="Huamu Road between Fangdian Road and Jinxiu Road",
            scope=Scope(feeders=["HM-10kV-01"]),
            starts_at=fault_at - timedelta(minutes=12),
            fault_located_at=fault_at,
        ),
        submitter,
    )

    large, _ = await service.submit(
        _submission(
            "DEMO-PL-3",
            OutageKind.PLANNED,
            title="220 kV Zhangjiang substation bus maintenance",
            reason="Annual maintenance of the 220 kV bus; seven 10 kV feeders off",
            area_description="Zhangjiang town, most of the Hi-Tech Park",
            scope=Scope(feeders=[f"ZJ-10kV-{n:02d}" for n in range(1, 8)]),
            starts_at=day + timedelta(days=14),
            ends_at=day + timedelta(days=14, hours=10),
            large_area=True,
        ),
        submitter,
    )
    await service.approve(large.id, reviewer)

    late, _ = await service.submit(
        _submission(
            "DEMO-F-0",
            OutageKind.FAULT,
            title="Pole-mounted transformer burnt out",
            reason="Lightning strike on transformer TA-ZJ-0420",
            area_description="Gaoke Road 1000-1200",
            scope=Scope(transformer_areas=["TA-ZJ-0420"]),
            starts_at=now - timedelta(hours=3),
            fault_located_at=now - timedelta(hours=2, minutes=40),
        ),
        submitter,
    )
    await service.approve(late.id, reviewer)
    await service.change(
        late.id,
        ChangeRequest(
            type=ChangeType.RESTORED, reason="Transformer replaced", restored_at=now - timedelta(minutes=5)
        ),
        submitter,
    )
    await service.approve(late.id, reviewer)

    lines = [
        f"demo customers: {report.inserted} imported (region {DEMO_REGION})",
        "demo API keys (region, roles):",
    ]
    for secret, name, _, region, roles in DEMO_KEYS:
        lines.append(f"  {secret:<16} {name} ({region}; {', '.join(sorted(r.value for r in roles))})")
    return lines
