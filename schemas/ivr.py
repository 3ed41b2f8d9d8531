"""The 95598 phone menu as pure rules: its states, their depth and parents, and what is said."""

from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import msgspec

from schemas.kinds import SCHEDULED_KINDS, OutageKind
from schemas.wording import KIND_SPOKEN

PLANNED_WINDOW = timedelta(days=7)


class State(StrEnum):
    MAIN = "main"
    MY_OUTAGES = "my_outages"
    WEEK = "week"
    ENTER_ACCOUNT = "enter_account"
    ACCOUNT_RESULT = "account_result"
    SMS_SENT = "sms_sent"
    # Report a power cut: the account (when the caller's number does not say it), then the answer.
    REPORT_ACCOUNT = "report_account"
    REPORTED = "reported"


# Menu depth (the 95598 standard allows 5) and the menu "*" goes back to.
DEPTH = {
    State.MAIN: 1,
    State.MY_OUTAGES: 2,
    State.WEEK: 2,
    State.ENTER_ACCOUNT: 3,
    State.ACCOUNT_RESULT: 4,
    State.SMS_SENT: 5,
    State.REPORT_ACCOUNT: 2,
    State.REPORTED: 3,
}
PARENT = {
    State.MAIN: State.MAIN,
    State.MY_OUTAGES: State.MAIN,
    State.WEEK: State.MAIN,
    State.ENTER_ACCOUNT: State.MY_OUTAGES,
    State.ACCOUNT_RESULT: State.ENTER_ACCOUNT,
    State.SMS_SENT: State.MAIN,
    State.REPORT_ACCOUNT: State.MAIN,
    State.REPORTED: State.MAIN,
}


class IvrOutage(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    region: str
    kind: OutageKind
    reason: str
    area_description: str
    starts_at: datetime
    ends_at: datetime | None
    restored_at: datetime | None
    cancelled: bool


def relevant(outage: IvrOutage, now: datetime) -> bool:
    """Worth telling a caller: not cancelled, not restored, not long over."""
    if outage.cancelled or outage.restored_at is not None:
        return False
    return outage.ends_at is None or outage.ends_at > now


def planned_soon(outage: IvrOutage, now: datetime) -> bool:
    return (
        outage.kind in SCHEDULED_KINDS
        and relevant(outage, now)
        and now <= outage.starts_at <= now + PLANNED_WINDOW
    )


def spoken_time(moment: datetime, language: str, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    if language == "en":
        minutes = "" if local.minute == 0 else f":{local.minute:02d}"
        hour = local.hour % 12 or 12
        return f"{local:%A} {local.day} {local:%B} at {hour}{minutes} {'a.m.' if local.hour < 12 else 'p.m.'}"
    minutes = "" if local.minute == 0 else f"{local.minute}分"
    return f"{local.month}月{local.day}日{local.hour}点{minutes}"


def describe(outage: IvrOutage, now: datetime, language: str, zone: ZoneInfo) -> str:
    """One sentence a caller understands: what, where, why, from when, until when."""
    kind = KIND_SPOKEN[language][outage.kind]
    start = spoken_time(outage.starts_at, language, zone)
    end = spoken_time(outage.ends_at, language, zone) if outage.ends_at else None
    started = outage.starts_at <= now
    if language == "en":
        when = f"since {start}" if started else f"from {start}"
        until = f", and supply is expected back by {end}" if end else ""
        return f"There is {kind} at {outage.area_description}, {when}, because of {outage.reason}{until}."
    when = f"自{start}起停电" if started else f"将于{start}开始停电"
    until = f"，预计{end}恢复供电" if end else ""
    return f"{outage.area_description}{kind}：因{outage.reason}，{when}{until}。"


PROMPTS = {
    "zh-CN": {
        "greeting": "{prefix}，国家电网{hotline}为您服务。",
        "main": "查询您家的停电信息请按1，查询未来七天计划停电请按2，报修停电请按3。",
        # Said in the other language's voice: a caller who needs it understands it.
        "other_language": "For English, press 9.",
        "main_end": "人工服务请按0，重听请按星号键。",
        "my_outages_menu": "用短信接收以上信息请按1，查询其他户号请按2，人工服务请按0，返回上一级请按星号键。",
        "none": "您登记的户号目前没有已发布的停电信息。如您家中停电，请按0转人工报修。",
        "unknown_caller": "未能识别您的来电号码。",
        "enter_account": "请输入您的户号，以井号键结束。人工服务请按0再按井号键，返回上一级请按星号键再按井号键。",
        "no_account": "没有找到这个户号，请核对后重新输入。",
        "account_menu": "用短信接收以上信息请按1，查询其他户号请按2，人工服务请按0，返回上一级请按星号键。",
        "week_none": "您所在区域未来七天没有计划停电。",
        "week_menu": "用短信接收以上信息请按1，人工服务请按0，返回上一级请按星号键。",
        "sms_sent": "短信已发送到您的手机，请注意查收。",
        "sms_unavailable": "无法识别您的手机号码，短信未能发送。",
        "sms_menu": "返回主菜单请按星号键，人工服务请按0。",
        "wrong_key": "您的输入有误。",
        "goodbye": "结束服务请挂机。",
        "agent": "正在为您转接人工服务，请稍候。",
        "sorry": "非常抱歉，系统暂时无法查询，正在为您转接人工服务。",
        "report_account": "请输入停电地址的户号，以井号键结束。人工服务请按0再按井号键，返回上一级请按星号键再按井号键。",
        "report_several": "您的号码登记了多个户号。",
        "reported_explained": "您的报修已记录，以上停电正在处理中。",
        "reported_order": "您的报修已受理，抢修人员将尽快处理。工单尾号为{tail}。",
        "reported_urgent": "已按紧急情况处理，请远离断落的电线和危险区域。",
        "reported_menu": "如有电线断落、起火等危险情况请按1，为其他户号报修请按2，人工服务请按0，返回主菜单请按星号键。",
    },
    "en": {
        "greeting": "Hello, State Grid {hotline} at your service.",
        "main": "For outages at your address, press 1. For planned outages in the next seven days, press 2. "
        "To report a power cut, press 3.",
        "other_language": "中文服务请按9。",
        "main_end": "To speak to an agent, press 0. To hear this again, press star.",
        "my_outages_menu": "To get this by text message, press 1. For another account, press 2. "
        "For an agent, press 0. For the previous menu, press star.",
        "none": "No outage is published for your accounts. If your power is off, press 0 to report it.",
        "unknown_caller": "We could not recognise your number.",
        "enter_account": "Please enter your account number, then press hash. For an agent, press 0 and hash. "
        "For the previous menu, press star and hash.",
        "no_account": "We could not find that account number. Please check it and try again.",
        "account_menu": "To get this by text message, press 1. For another account, press 2. "
        "For an agent, press 0. For the previous menu, press star.",
        "week_none": "No planned outage is published for your area in the next seven days.",
        "week_menu": "To get this by text message, press 1. For an agent, press 0. For the previous menu, press star.",
        "sms_sent": "We have sent this to your phone.",
        "sms_unavailable": "We could not recognise your mobile number, so no message was sent.",
        "sms_menu": "For the main menu, press star. For an agent, press 0.",
        "wrong_key": "Sorry, that key is not an option.",
        "goodbye": "Thank you for calling. Please hang up.",
        "agent": "Transferring you to an agent, please hold.",
        "sorry": "We are sorry, outage information is not available right now. Transferring you to an agent.",
        "report_account": "Please enter the account number of the address without power, then press hash. "
        "For an agent, press 0 and hash. For the previous menu, press star and hash.",
        "report_several": "Your number is registered on several accounts.",
        "reported_explained": "Your report is recorded; the outage above is being worked on.",
        "reported_order": "Your report is received and a crew will be sent. Your order number ends in {tail}.",
        "reported_urgent": "It is treated as urgent. Keep away from fallen wires and danger.",
        "reported_menu": "If wires are down, or there is fire or danger, press 1. To report for another account, "
        "press 2. For an agent, press 0. For the main menu, press star.",
    },
}
