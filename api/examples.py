"""Request examples shown in the OpenAPI docs."""

from litestar.openapi.spec import Example

PLANNED_OUTAGE = Example(
    summary="Planned maintenance, 8 days ahead",
    value={
        "external_id": "PD-2026-1187",
        "kind": "planned",
        "title": "10 kV Zhangjiang line 3 maintenance",
        "reason": "Replacing switchgear on the 10 kV Zhangjiang line 3",
        "region": "310115",
        "area_description": "Zhangjiang Hi-Tech Park, Lane 88-200 Keyuan Road",
        "scope": {"feeders": ["ZJ-10kV-03"], "transformer_areas": ["TA-ZJ-0312", "TA-ZJ-0313"]},
        "starts_at": "2026-12-08T08:00:00+08:00",
        "ends_at": "2026-12-08T17:00:00+08:00",
        "large_area": False,
    },
)
FAULT_OUTAGE = Example(
    summary="Fault, located 5 minutes ago (no ends_at: service targets apply)",
    value={
        "external_id": "PD-F-20261123-07",
        "kind": "fault",
        "title": "Cable fault on 10 kV Huamu line 1",
        "reason": "Underground cable damaged by construction work",
        "region": "310115",
        "area_description": "Huamu Road between Fangdian Road and Jinxiu Road",
        "scope": {"feeders": ["HM-10kV-01"]},
        "starts_at": "2026-11-23T14:02:00+08:00",
        "fault_located_at": "2026-11-23T14:20:00+08:00",
        "area_type": "urban",
    },
)
ARREARS_STOPPAGE = Example(
    summary="Arrears stoppage for one account, 4 days ahead",
    value={
        "external_id": "PD-AR-55120",
        "kind": "arrears",
        "title": "Supply stop for unpaid bills",
        "reason": "Electricity bills of August to October unpaid after two reminders",
        "region": "310115",
        "area_description": "Account 3101150042 at 18 Chuanqiao Road",
        "scope": {"accounts": ["3101150042"]},
        "starts_at": "2026-11-27T10:00:00+08:00",
        "ends_at": "2026-11-27T18:00:00+08:00",
    },
)
POSTPONE = Example(
    summary="Postpone by one day",
    value={
        "type": "postpone",
        "reason": "Heavy rain forecast for the original day",
        "starts_at": "2026-12-09T08:00:00+08:00",
        "ends_at": "2026-12-09T17:00:00+08:00",
    },
)
CANCEL = Example(summary="Cancel", value={"type": "cancel", "reason": "Work merged into the January window"})
DELAY_RESTORATION = Example(
    summary="Restoration later than announced",
    value={
        "type": "delay_restoration",
        "reason": "Spare cable joint arrives late",
        "ends_at": "2026-11-23T22:00:00+08:00",
    },
)
RESTORED = Example(
    summary="Supply restored",
    value={"type": "restored", "reason": "Cable repaired", "restored_at": "2026-11-23T19:40:00+08:00"},
)
REJECTION = Example(
    summary="Reject with a reason",
    value={"reason": "Area description misses the Keyuan Road residential blocks; add them and resubmit"},
)
