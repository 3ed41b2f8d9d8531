"""Customers' texts and the provider's receipts: what a reply word means and what is answered."""

import re
from typing import Any

import msgspec
from redis.asyncio import Redis

from publishers.sms_providers.twilio import ledger_status
from schemas.contacts import ContactChannel, SubscriptionRequest, Verification
from schemas.customers import e164
from schemas.errors import ServiceError, Unprocessable
from schemas.fault_reports import ReportChannel, ReportSubmission, Symptom
from schemas.kinds import MARKETING_KINDS, Status
from schemas.outage import Outage
from services.acknowledged import acknowledged
from services.fault_reports import FaultReportService, NeedsAccount
from services.followups import FollowUpService
from services.outages import OutageService
from services.registration import RegistrationService
from store.affected import AccountOutages
from store.customers import CustomerStore
from store.ledger import DeliveryLedger
from store.optouts import OptOuts

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD"}
START_WORDS = {"START", "YES", "UNSTOP", "订阅"}
STATUS_WORDS = {"STATUS", "OUTAGE", "停电", "状态", "查询"}
# REG <account> [code]: this phone becomes a contact of the account; DEREG: it stops.
REGISTER_WORDS = {"REG", "注册", "绑定"}
DEREGISTER_WORDS = {"DEREG", "UNREG", "解绑", "解除绑定"}
# A fault report: the word, then optionally the account number and what they see.
REPORT_WORDS = (
    "停电报修",
    "报修",
    "没电了",
    "没电",
    "停电了",
    "故障",
    "NO POWER",
    "NOPOWER",
    "REPORT",
    "OUT",
)
# Words in a report that make it a hazard (urgent): wires down, fire, danger.
HAZARD_WORDS = ("危险", "着火", "起火", "冒烟", "火花", "断线", "电线掉", "电线断", "漏电", "触电",
                "DANGER", "FIRE", "SPARK", "WIRE", "SMOKE")  # fmt: skip
_ACCOUNT = re.compile(r"^[A-Za-z0-9]{6,32}$")


class ReplyService:
    def __init__(
        self,
        outages: OutageService,
        redis: Redis,
        fault_reports: FaultReportService,
        followups: FollowUpService,
        registration: RegistrationService,
    ) -> None:
        self.outages = outages
        self.registration = registration
        self.fault_reports = fault_reports
        self.followups = followups
        self.settings = outages.settings
        self.redis = redis
        self.customers = CustomerStore(redis)
        self.ledger = DeliveryLedger(redis, "sms")
        self.optouts = OptOuts(redis, "sms")
        self.affected = AccountOutages(redis)

    async def receipt(self, sid: str, provider_status: str, error_code: str) -> None:
        """A delivery receipt moves the message's status forward; not ours or untracked: ignored."""
        found = await self.ledger.by_ref(sid)
        status = ledger_status(provider_status)
        if found is None or status is None:
            return
        outage_id, notice_id, account = found
        await self.ledger.advance(outage_id, notice_id, account, status, error_code)
        # Answered 200 only once replicated (REDIS_MIN_REPLICAS): else 503 and the provider retries.
        await acknowledged(self.redis, self.settings)

    async def answer(self, sender: str, body: str) -> str | None:
        """The reply to a text from `sender` (None: not a number, nothing to answer)."""
        try:
            phone = e164(sender)
        except ValueError:
            return None
        word = body.strip().upper()
        accounts = await self.customers.accounts_of_phone(phone)
        english = bool(accounts) and all(
            c is not None and c.language == "en" for c in await self.customers.many(accounts)
        )
        hotline = self.settings.hotline
        if word in STOP_WORDS:
            await self.optouts.set_opted_out(phone, True)
            return (
                f"You will get no more outage SMS. Reply START to resume. Call {hotline} for help."
                if english
                else f"您已退订停电通知短信。回复START可恢复接收。咨询请拨{hotline}。"
            )
        if word in START_WORDS:
            await self.optouts.set_opted_out(phone, False)
            return "Outage SMS resumed." if english else "您已恢复接收停电通知短信。"
        if word in STATUS_WORDS:
            return await self._status_text(accounts, english)
        first, _, rest = body.strip().partition(" ")
        if first.upper() in REGISTER_WORDS:
            return await self._register(phone, rest.split(), english or first.isascii())
        if word in DEREGISTER_WORDS:
            removed = await self.registration.remove_address(ContactChannel.SMS, phone)
            return (
                f"This number no longer gets the notices of {removed} account(s)."
                if english or word.isascii()
                else f"本号码已解除与{removed}个户号的绑定，不再接收其停电通知。"
            )
        report = _report_words(body, accounts)
        if report is not None:
            return await self._report(phone, report, english)
        # "1", "2" or words answering what this phone was last asked (restoration check, survey).
        answered = await self.followups.answer(phone, body)
        if answered is not None:
            return answered
        # HELP, and anything not understood, gets the help text.
        return (
            f"State Grid outage notices. Reply STATUS for outages at your address, STOP to unsubscribe. Call {hotline}."
            if english
            else f"国家电网停电通知。回复“停电”查询您地址的停电信息，回复“退订”停止接收。咨询请拨{hotline}。"
        )

    async def _register(self, phone: str, words: list[str], english: bool) -> str:
        """REG <account>: a code goes to the account's registered phone; REG <account> <code>:
        this number becomes a contact of the account."""
        if not words:
            return (
                "To get an account's outage notices on this phone, reply REG and the account number."
                if english
                else "如需在本手机接收某户号的停电通知，请回复“注册 户号”。"
            )
        account = words[0]
        language = "en" if english else "zh-CN"
        try:
            if len(words) >= 2:
                verification = msgspec.convert(
                    {"account": account, "address": phone, "code": words[1]}, Verification
                )
                await self.registration.verify(verification, ContactChannel.SMS)
                return (
                    f"This phone now gets the outage notices of account {account}. Reply DEREG to stop."
                    if english
                    else f"本手机已绑定户号{account}，将接收其停电通知。回复“解绑”可解除。"
                )
            request = msgspec.convert(
                {"account": account, "address": phone, "language": language}, SubscriptionRequest
            )
            sent = await self.registration.request(request)
        except ServiceError as exc:
            return exc.detail if english else f"未能办理：{exc.detail}"
        except msgspec.ValidationError as exc:
            return str(exc) if english else f"未能办理：{exc}"
        return (
            f"A code went to the phone registered on account {account} ({sent.sent_to}). "
            f"Reply REG {account} and the code within 10 minutes."
            if english
            else f"验证码已发送至户号{account}登记的手机{sent.sent_to}，请在10分钟内回复“注册 {account} 验证码”。"
        )

    async def _report(self, phone: str, submission: ReportSubmission, english: bool) -> str:
        hotline = self.settings.hotline
        try:
            receipt = await self.fault_reports.report(
                submission, ReportChannel.SMS, caller_phone=phone, language="en" if english else "zh-CN"
            )
        except NeedsAccount:
            return (
                f"To report a fault, reply REPORT and your account number, e.g. REPORT 3101150000001. Call {hotline}."
                if english
                else f"报修请回复“报修 户号”，例如：报修 3101150000001。咨询请拨{hotline}。"
            )
        except Unprocessable:
            return (
                f"That account number is not ours. Call {hotline} to report a fault."
                if english
                else f"未找到该户号，请拨{hotline}报修。"
            )
        if receipt.explanation:
            said = " ".join(receipt.explanation[:3])
            return (
                f"Your supply is affected by a known outage: {said} Call {hotline}."
                if english
                else f"您所在区域正在停电：{said}咨询请拨{hotline}。"
            )
        danger = (
            (" Keep away from fallen wires." if english else "如遇电线断落请远离，注意安全。")
            if submission.symptom is Symptom.HAZARD
            else ""
        )
        return (
            f"Report received, repair order {receipt.repair_id}. Crews will be sent.{danger} Call {hotline}."
            if english
            else f"报修已受理，工单号{receipt.repair_id}，我们将尽快安排抢修。{danger}咨询请拨{hotline}。"
        )

    async def _status_text(self, accounts: list[str], english: bool) -> str:
        outages = self.outages
        now = outages.clock()
        found: dict[str, Outage] = {}
        for account in accounts:
            for outage_id in await self.affected.outages_of_account(account, after=now):
                if outage_id not in found:
                    found[outage_id] = await outages.store.get(outage_id)
        current = [o for o in found.values() if o.status is Status.PUBLISHED]
        hotline = outages.settings.hotline
        if not accounts:
            return (
                f"This number is not registered with an account. Call {hotline}."
                if english
                else f"该号码未登记用电户号，请拨{hotline}查询。"
            )
        if not current:
            return (
                f"No planned or current outage is known for your address. Call {hotline} to report one."
                if english
                else f"您的地址目前没有已发布的停电信息。如需报修请拨{hotline}。"
            )
        lines = [
            _describe(o, english, outages.settings.zone) for o in sorted(current, key=lambda o: o.starts_at)
        ]
        return " ".join(lines[:3]) + (f" Call {hotline}." if english else f" 咨询请拨{hotline}。")


def _report_words(body: str, own_accounts: list[str]) -> ReportSubmission | None:
    """A text that reports a fault, as a submission (None: not a report). A first word after the
    report word is the account when it is one of the sender's or looks like an account number."""
    text = " ".join(body.split())
    upper = text.upper()
    word = next((w for w in REPORT_WORDS if upper.startswith(w)), None)
    if word is None:
        return None
    following = text[len(word) : len(word) + 1]
    if word.isascii() and following.isascii() and following.isalpha():
        # "OUTAGE", "REPORTS ..." are other words.
        return None
    rest = text[len(word) :].strip(" :：,，")
    first, _, after = rest.partition(" ")
    looks_like_one = bool(_ACCOUNT.match(first)) and any(c.isdigit() for c in first)
    account = first if first in own_accounts or looks_like_one else ""
    description = (after if account else rest)[:500]
    hazard = any(h in upper for h in HAZARD_WORDS)
    return ReportSubmission(
        account=account, symptom=Symptom.HAZARD if hazard else Symptom.NO_POWER, description=description
    )


def _describe(outage: Outage, english: bool, zone: Any) -> str:
    start = outage.starts_at.astimezone(zone)
    end = outage.ends_at.astimezone(zone) if outage.ends_at else None
    # Marketing stoppages are only ever listed here for the number registered on that account.
    area = outage.area_description if outage.kind not in MARKETING_KINDS else ""
    if english:
        until = f" until {end:%d %b %H:%M}" if end else ""
        return f"{area} {start:%d %b %H:%M}{until}: {outage.reason}.".strip()
    until = f"至{end.month}月{end.day}日{end:%H:%M}" if end else ""
    return f"{area}{start.month}月{start.day}日{start:%H:%M}{until}停电，原因：{outage.reason}。"
