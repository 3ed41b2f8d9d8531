"""Customers' texts and the provider's receipts: what a reply word means and what is answered."""

from typing import Any

from redis.asyncio import Redis

from publishers.sms_providers.twilio import ledger_status
from schemas.customers import e164
from schemas.kinds import MARKETING_KINDS, Status
from schemas.outage import Outage
from services.outages import OutageService
from store.affected import AccountOutages
from store.customers import CustomerStore
from store.ledger import DeliveryLedger
from store.optouts import OptOuts

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD"}
START_WORDS = {"START", "YES", "UNSTOP", "订阅"}
STATUS_WORDS = {"STATUS", "OUTAGE", "停电", "状态", "查询"}


class ReplyService:
    def __init__(self, outages: OutageService, redis: Redis) -> None:
        self.outages = outages
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
        # HELP, and anything not understood, gets the help text.
        return (
            f"State Grid outage notices. Reply STATUS for outages at your address, STOP to unsubscribe. Call {hotline}."
            if english
            else f"国家电网停电通知。回复“停电”查询您地址的停电信息，回复“退订”停止接收。咨询请拨{hotline}。"
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
