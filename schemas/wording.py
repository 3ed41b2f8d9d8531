"""The words for each kind of outage, per language: one catalogue for pages, feeds, CAP and the
phone menu (SMS texts are templates, checked against every kind by the tests)."""

from schemas.kinds import OutageKind

LANGUAGES = ("zh-CN", "en")

# What a kind is called: a page's badge, a CAP alert's description, a feed's filter.
KIND_LABEL: dict[str, dict[OutageKind, str]] = {
    "zh-CN": {
        OutageKind.PLANNED: "计划停电",
        OutageKind.TEMPORARY: "临时停电",
        OutageKind.FAULT: "故障停电",
        OutageKind.OVER_CAPACITY: "超供电能力限电",
        OutageKind.OTHER: "其他停电",
        OutageKind.ORDERLY_USE: "有序用电",
        OutageKind.THEFT: "窃电停止供电",
        OutageKind.VIOLATION: "违约用电停止供电",
        OutageKind.ARREARS: "欠费停电",
    },
    "en": {
        OutageKind.PLANNED: "Planned outage",
        OutageKind.TEMPORARY: "Temporary outage",
        OutageKind.FAULT: "Fault outage",
        OutageKind.OVER_CAPACITY: "Supply restriction (over capacity)",
        OutageKind.OTHER: "Other outage",
        OutageKind.ORDERLY_USE: "Orderly-use curtailment",
        OutageKind.THEFT: "Supply stop (electricity theft)",
        OutageKind.VIOLATION: "Supply stop (contract violation)",
        OutageKind.ARREARS: "Supply stop for unpaid bills",
    },
}

# How the phone menu says it inside a sentence ("There is a planned outage at ...").
KIND_SPOKEN: dict[str, dict[OutageKind, str]] = {
    "zh-CN": {
        OutageKind.PLANNED: "计划停电",
        OutageKind.TEMPORARY: "临时停电",
        OutageKind.FAULT: "故障停电",
        OutageKind.OVER_CAPACITY: "限电",
        OutageKind.OTHER: "停电",
        OutageKind.ORDERLY_USE: "有序用电",
        OutageKind.THEFT: "停止供电",
        OutageKind.VIOLATION: "停止供电",
        OutageKind.ARREARS: "欠费停电",
    },
    "en": {
        OutageKind.PLANNED: "a planned outage",
        OutageKind.TEMPORARY: "a temporary outage",
        OutageKind.FAULT: "a fault outage",
        OutageKind.OVER_CAPACITY: "a supply restriction",
        OutageKind.OTHER: "an outage",
        OutageKind.ORDERLY_USE: "an orderly-use curtailment",
        OutageKind.THEFT: "a supply stop",
        OutageKind.VIOLATION: "a supply stop",
        OutageKind.ARREARS: "a supply stop for unpaid bills",
    },
}
