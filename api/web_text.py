"""Words of the public pages, per language."""

from schemas.kinds import MARKETING_KINDS, OutageKind
from schemas.wording import KIND_LABEL, LANGUAGES

TEXT = {
    "zh-CN": {
        "site": "停电信息",
        "subtitle": "国家电网95598停电信息公告",
        "current": "当前及计划停电",
        "region": "地区",
        "kind": "类型",
        "all": "全部",
        "filter": "筛选",
        "area": "停电范围",
        "start": "停电时间",
        "was_planned": "原定时间（已取消）",
        "end": "预计恢复",
        "restored_at": "恢复时间",
        "reason": "停电原因",
        "status": "状态",
        "none": "目前没有停电信息。",
        "lookup": "查询我家是否停电",
        "lookup_hint": "输入地址（如 张江路292号）、户号、线路或台区编号",
        "search": "查询",
        "affected": "您所在的范围有以下停电：",
        "not_affected": "没有查到影响您的已发布停电信息。如家中停电，请拨打95598报修。",
        "unknown_account": "未找到该户号；已按线路或台区编号查询。",
        "timeline": "发布记录",
        "back": "返回列表",
        "feeds": "订阅",
        "switch": "English",
        "live": "页面会自动更新",
        "hotline": "客服热线 95598",
        "upcoming": "即将停电",
        "in_progress": "正在停电",
        "restored": "已恢复供电",
        "cancelled": "已取消",
        "new": "发布停电通知",
        "postponed": "停电改期",
        "restoration_delayed": "送电推迟",
        "restored_event": "恢复供电",
        "cancelled_event": "取消停电",
    },
    "en": {
        "site": "Power outages",
        "subtitle": "State Grid 95598 outage notices",
        "current": "Current and upcoming outages",
        "region": "Region",
        "kind": "Kind",
        "all": "All",
        "filter": "Filter",
        "area": "Area",
        "start": "Starts",
        "end": "Expected back",
        "restored_at": "Restored",
        "reason": "Reason",
        "was_planned": "Was planned for (called off)",
        "status": "Status",
        "none": "No outages are published at the moment.",
        "lookup": "Is my supply affected?",
        "lookup_hint": "Street address, account number, feeder or transformer area",
        "search": "Look up",
        "affected": "These outages concern you:",
        "not_affected": "No published outage concerns you. If your power is off, call 95598.",
        "unknown_account": "No such account; looked it up as a feeder or transformer area.",
        "timeline": "Updates",
        "back": "Back to the list",
        "feeds": "Subscribe",
        "switch": "中文",
        "live": "This page updates by itself",
        "hotline": "Hotline 95598",
        "upcoming": "Upcoming",
        "in_progress": "In progress",
        "restored": "Restored",
        "cancelled": "Cancelled",
        "new": "Outage announced",
        "postponed": "Postponed",
        "restoration_delayed": "Restoration delayed",
        "restored_event": "Supply restored",
        "cancelled_event": "Cancelled",
    },
}

# A kind's label on a page is the catalogue's (schemas.wording), under the kind's name.
for _language, _labels in KIND_LABEL.items():
    TEXT[_language].update({kind.value: label for kind, label in _labels.items()})

PUBLIC_KINDS = [k for k in OutageKind if k not in MARKETING_KINDS or k is OutageKind.ORDERLY_USE]


def language_of(requested: str | None) -> str:
    return requested if requested in LANGUAGES else LANGUAGES[0]
