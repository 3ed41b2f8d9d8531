"""Demo data: keys with known secrets and outages in every state, so there is something to see."""

from datetime import timedelta

from cli.demo_history import load_history
from schemas.keys import ApiKey
from schemas.kinds import ChangeType, OutageKind, Role
from schemas.outage import ChangeRequest, OutageSubmission, Scope
from services.customers import import_customers
from services.demo_customers import demo_account, synthetic_customers
from services.outages import OutageService
from store.api_keys import ApiKeyStore
from store.customers import CustomerStore
from store.optouts import OptOuts

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
        customer = await CustomerStore(service.redis).get(demo_account(DEMO_REGION, n))
        if customer is not None:
            await OptOuts(service.redis, "sms").set_opted_out(customer.phone, True)
    day = now.astimezone(service.settings.zone).replace(hour=8, minute=0, second=0, microsecond=0)

    planned, _ = await service.submit(
        _submission(
            "DEMO-PL-1",
            OutageKind.PLANNED,
            title="10千伏张江3号线检修",
            reason="更换10千伏张江3号线开关柜",
            area_description="张江高科技园区科苑路88弄至200弄",
            scope=Scope(feeders=["ZJ-10kV-03"], transformer_areas=["TA-ZJ-0312", "TA-ZJ-0313"]),
            starts_at=day + timedelta(days=9),
            ends_at=day + timedelta(days=9, hours=9),
        ),
        submitter,
    )
    await service.approve_current(planned.id, reviewer)

    postponed, _ = await service.submit(
        _submission(
            "DEMO-PL-2",
            OutageKind.PLANNED,
            title="花木路配变更换",
            reason="更换过载的630千伏安配电变压器",
            area_description="花木路1至14号住宅楼",
            scope=Scope(transformer_areas=["TA-HM-0107"]),
            starts_at=day + timedelta(days=10),
            ends_at=day + timedelta(days=10, hours=6),
        ),
        submitter,
    )
    await service.approve_current(postponed.id, reviewer)
    await service.change(
        postponed.id,
        ChangeRequest(
            type=ChangeType.POSTPONE,
            reason="原定日期预报有大雨",
            starts_at=day + timedelta(days=12),
            ends_at=day + timedelta(days=12, hours=6),
        ),
        submitter,
    )
    await service.approve_current(postponed.id, reviewer)

    await service.submit(
        _submission(
            "DEMO-TMP-1",
            OutageKind.TEMPORARY,
            title="环网柜漏油抢修",
            reason="巡视发现环网柜RMU-ZJ-17漏油",
            area_description="川桥路18号至60号",
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
            title="10千伏花木1号线电缆故障",
            reason="施工挖断地下电缆",
            area_description="花木路芳甸路至锦绣路段",
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
            title="220千伏张江变电站母线检修",
            reason="220千伏母线年度检修，7条10千伏线路停电",
            area_description="张江镇及高科技园区大部",
            scope=Scope(feeders=[f"ZJ-10kV-{n:02d}" for n in range(1, 8)]),
            starts_at=day + timedelta(days=14),
            ends_at=day + timedelta(days=14, hours=10),
            large_area=True,
        ),
        submitter,
    )
    await service.approve_current(large.id, reviewer)

    late, _ = await service.submit(
        _submission(
            "DEMO-F-0",
            OutageKind.FAULT,
            title="柱上变压器烧毁",
            reason="雷击导致TA-ZJ-0420台区变压器损坏",
            area_description="高科路1000号至1200号",
            scope=Scope(transformer_areas=["TA-ZJ-0420"]),
            starts_at=now - timedelta(hours=3),
            fault_located_at=now - timedelta(hours=2, minutes=40),
        ),
        submitter,
    )
    await service.approve_current(late.id, reviewer)
    await service.change(
        late.id,
        ChangeRequest(
            type=ChangeType.RESTORED, reason="变压器已更换", restored_at=now - timedelta(minutes=5)
        ),
        submitter,
    )
    await service.approve_current(late.id, reviewer)

    history = await load_history(service.settings, service.redis, now, submitter, reviewer, DEMO_REGION)
    lines = [
        f"demo customers: {report.inserted} imported (region {DEMO_REGION})",
        f"demo history: {history} outages of the last 30 days (compliance page: /dispatch/compliance)",
        "demo API keys (region, roles):",
    ]
    for secret, name, _, region, roles in DEMO_KEYS:
        lines.append(f"  {secret:<16} {name} ({region}; {', '.join(sorted(r.value for r in roles))})")
    return lines
