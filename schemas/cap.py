"""A published notice as an OASIS CAP 1.2 alert. Pure: values in, the alert's fields out."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from schemas.kinds import NoticeEvent, OutageKind
from schemas.public import PublicOutage, PublicUpdate
from schemas.wording import KIND_LABEL

EVENT_NAME = {"zh-CN": "停电", "en": "Power outage"}

EVENT_HEADLINE = {
    "zh-CN": {"new": "", "postponed": "改期：", "cancelled": "取消：", "restoration_delayed": "送电推迟：",
              "restored": "已恢复供电："},
    "en": {"new": "", "postponed": "Postponed: ", "cancelled": "Cancelled: ",
           "restoration_delayed": "Restoration delayed: ", "restored": "Restored: "},
}  # fmt: skip


class CapInfo(msgspec.Struct):
    language: str
    event: str
    sender_name: str
    headline: str
    description: str
    instruction: str


class CapAlert(msgspec.Struct, kw_only=True):
    identifier: str
    sender: str
    sent: str
    msg_type: str
    references: str
    incident: str
    response_type: str
    urgency: str
    severity: str
    certainty: str
    onset: str
    expires: str
    web: str
    contact: str
    area_desc: str
    polygon: str
    infos: list[CapInfo]


def cap_time(moment: datetime, zone: ZoneInfo) -> str:
    """CAP dateTime: seconds precision and a numeric offset, never 'Z'."""
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def identifier(outage_id: str, notice_id: str) -> str:
    return f"{outage_id}.{notice_id}"


def _state_at(outage: PublicOutage, index: int) -> tuple[datetime, datetime | None]:
    start, end = outage.updates[0].starts_at or outage.starts_at, outage.updates[0].ends_at
    for update in outage.updates[1 : index + 1]:
        start = update.starts_at or start
        end = update.ends_at or end
    return start, end


def cap_alert(
    outage: PublicOutage, notice_id: str, *, sender: str, base_url: str, hotline: str, zone: ZoneInfo
) -> CapAlert:
    index = next(i for i, u in enumerate(outage.updates) if u.notice == notice_id)
    update: PublicUpdate = outage.updates[index]
    start, end = _state_at(outage, index)
    sent = update.published_at
    finished = update.event in (NoticeEvent.RESTORED, NoticeEvent.CANCELLED)
    if finished:
        urgency = "Past"
    elif start <= sent:
        urgency = "Immediate"
    elif start - sent <= timedelta(days=1):
        urgency = "Expected"
    else:
        urgency = "Future"
    valid_until = update.restored_at or end or start
    expires = max(valid_until, sent) + (timedelta(days=1) if finished else timedelta(0))
    if expires <= sent:
        expires = sent + timedelta(hours=1)
    msg_type = {NoticeEvent.NEW: "Alert", NoticeEvent.CANCELLED: "Cancel"}.get(update.event, "Update")
    references = " ".join(
        f"{sender},{identifier(outage.id, u.notice)},{cap_time(u.published_at, zone)}"
        for u in outage.updates[:index]
    )
    infos = []
    for language in ("zh-CN", "en"):
        kind = KIND_LABEL[language][outage.kind]
        headline = EVENT_HEADLINE[language][update.event.value] + outage.title
        if language == "zh-CN":
            until = f"至{_local(end, zone)}" if end else ""
            description = (
                f"{kind}：{outage.area_description}，{_local(start, zone)}{until}。原因：{update.reason}"
            )
            instruction = INSTRUCTION["zh-CN"][_instruction_for(update.event, finished)].format(
                hotline=hotline
            )
            sender_name = f"国家电网{hotline}"
        else:
            until = f" until {_local(end, zone)}" if end else ""
            description = f"{kind}: {outage.area_description}, from {_local(start, zone)}{until}. Reason: {update.reason}"
            instruction = INSTRUCTION["en"][_instruction_for(update.event, finished)].format(hotline=hotline)
            sender_name = f"State Grid {hotline}"
        infos.append(CapInfo(language, EVENT_NAME[language], sender_name, headline, description, instruction))
    return CapAlert(
        identifier=identifier(outage.id, notice_id),
        sender=sender,
        sent=cap_time(sent, zone),
        msg_type=msg_type,
        references=references,
        incident=outage.id,
        response_type="AllClear" if finished else "Prepare",
        urgency=urgency,
        severity="Minor" if finished else "Moderate",
        certainty="Observed" if finished or outage.kind is OutageKind.FAULT else "Likely",
        onset=cap_time(start, zone),
        expires=cap_time(expires, zone),
        web=f"{base_url}/outages/{outage.id}",
        contact=hotline,
        area_desc=outage.area_description,
        # repr: the shortest text that reads back as the same number, so no precision is lost
        # (":g" cut 121.598765 to 121.599, about 38 m).
        polygon=" ".join(f"{lat!r},{lon!r}" for lat, lon in outage.polygon or []),
        infos=infos,
    )


# What a customer should do, by what the notice says: prepare for an outage to come, nothing
# for one called off, report it if supply is still off after "restored".
INSTRUCTION = {
    "zh-CN": {
        "prepare": "请提前做好准备。咨询或报修请拨{hotline}。",
        "called_off": "原定停电已取消，供电照常。咨询请拨{hotline}。",
        "restored": "已恢复供电。如您家中仍未来电，请拨{hotline}报修。",
    },
    "en": {
        "prepare": "Prepare for the outage. Questions or faults: call {hotline}.",
        "called_off": "The outage is called off and supply continues as usual. Questions: call {hotline}.",
        "restored": "Supply is back. If yours is still off, call {hotline} to report it.",
    },
}


def _instruction_for(event: NoticeEvent, finished: bool) -> str:
    if event is NoticeEvent.CANCELLED:
        return "called_off"
    return "restored" if finished else "prepare"


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
