"""After a call is placed: what it says, the callee's confirmation (press 1), and what happens when
nobody confirms: the call is placed again after each VOICE_RETRIES pause, then the notice is
flagged in the review queue for a person to call."""

from datetime import timedelta

import structlog
from arq.connections import ArqRedis
from twilio.twiml.voice_response import Gather, VoiceResponse

from publishers.base import MessageRef
from publishers.sms_text import SmsTexts
from publishers.voice import call_query, calls
from schemas.clock import Clock
from schemas.notices import notice_of
from schemas.settings import Settings
from store.contacts import ContactStore
from store.customers import CustomerStore
from store.ledger import DeliveryLedger
from store.optouts import OptOuts
from store.outages import OutageStore
from store.voice import VoiceStore

log = structlog.get_logger("services.voice")
REDIAL_JOB = "redial_call"
WORDS = {
    "zh-CN": {"confirm": "确认收到此通知请按1，不再接收停电通知电话请按9。", "thanks": "感谢您的确认，再见。",
              "again": "本通知将再次播放。", "stopped": "您将不再接收停电通知电话，短信通知不受影响。再见。"},
    "en": {"confirm": "To confirm you received this notice, press 1. To get no more outage calls, press 9.",
           "thanks": "Thank you. Goodbye.", "again": "Here is the notice again.",
           "stopped": "You will get no more outage calls; text messages still come. Goodbye."},
}  # fmt: skip


class CallRef:
    """A call's notice, ledger entry, language and try, as the webhooks' query carries them."""

    def __init__(self, query: dict[str, str]) -> None:
        self.outage_id = query.get("o", "")
        self.notice_id = query.get("n", "")
        self.entry = query.get("k", "")
        self.language = "en" if query.get("lang") == "en" else "zh-CN"
        self.attempt = int(query["try"]) if query.get("try", "").isdigit() else 1

    @property
    def account(self) -> str:
        return self.entry.partition("/")[0]

    def query(self, attempt: int | None = None) -> str:
        # The same query the call was placed with (publishers/voice.py writes it).
        ref = MessageRef(self.outage_id, self.notice_id, self.entry, self.language)
        return call_query(ref, attempt or self.attempt)


class VoiceService:
    def __init__(self, settings: Settings, redis: ArqRedis, clock: Clock) -> None:
        self.settings = settings
        self.queue = redis
        self.clock = clock
        self.outages = OutageStore(redis)
        self.customers = CustomerStore(redis)
        self.contacts = ContactStore(redis)
        self.ledger = DeliveryLedger(redis, "voice")
        self.store = VoiceStore(redis)
        self.optouts = OptOuts(redis, "voice")
        self.texts = SmsTexts(settings.zone, settings.hotline, signature="")

    def _say(self, twiml: VoiceResponse | Gather, text: str, language: str) -> None:
        english = language == "en"
        voice = self.settings.ivr_voice_en if english else self.settings.ivr_voice_zh
        twiml.say(text, voice=voice, language="en-US" if english else "cmn-CN")

    async def notice_twiml(self, query: dict[str, str]) -> str:
        """What the callee hears: the notice, then "press 1 to confirm"; no key: once more, then goodbye."""
        call = CallRef(query)
        twiml = VoiceResponse()
        customer = await self.customers.get(call.account)
        try:
            notice = notice_of(await self.outages.get(call.outage_id), call.notice_id)
        except Exception:
            twiml.hangup()
            return str(twiml)
        text = self.texts.render(notice, customer, call.language)
        base = f"{self.settings.public_base_url}/twilio/voice"
        gather = Gather(
            input="dtmf", num_digits=1, timeout=8, action=f"{base}/confirm?{call.query()}", method="POST"
        )
        self._say(gather, text, call.language)
        self._say(gather, WORDS[call.language]["confirm"], call.language)
        twiml.append(gather)
        twiml.hangup()
        return str(twiml)

    async def confirm(self, query: dict[str, str], digits: str, called: str = "") -> str:
        """1: confirmed. 9: the called number gets no more calls (its own opt-out, SMS unaffected)."""
        call = CallRef(query)
        twiml = VoiceResponse()
        if digits == "9" and called:
            await self.optouts.set_opted_out(called, True)
            self._say(twiml, WORDS[call.language]["stopped"], call.language)
            twiml.hangup()
            return str(twiml)
        if digits != "1":
            self._say(twiml, WORDS[call.language]["again"], call.language)
            twiml.redirect(
                f"{self.settings.public_base_url}/twilio/voice/notice?{call.query()}", method="POST"
            )
            return str(twiml)
        now = self.clock()
        await self.ledger.advance(call.outage_id, call.notice_id, call.entry, "confirmed")
        await self.store.confirmed(call.outage_id, call.notice_id, call.entry, now)
        outage = await self.outages.get(call.outage_id)
        await self.store.unflag(outage.region, call.outage_id, call.notice_id, call.entry)
        self._say(twiml, WORDS[call.language]["thanks"], call.language)
        twiml.hangup()
        return str(twiml)

    async def call_ended(self, query: dict[str, str], call_status: str) -> str:
        """The call is over (answered or not): unconfirmed, it is placed again or flagged."""
        call = CallRef(query)
        if await self.ledger.status_of(call.outage_id, call.notice_id, call.entry) == "confirmed":
            return "confirmed"
        pauses = self.settings.voice_retry_pauses
        if call.attempt <= len(pauses):
            pause: timedelta = pauses[call.attempt - 1]
            await self.queue.enqueue_job(
                REDIAL_JOB, call.outage_id, call.notice_id, call.entry, call.language, call.attempt + 1,
                _job_id=f"call:{call.outage_id}:{call.notice_id}:{call.entry}:{call.attempt + 1}",
                _queue_name=self.settings.queue_name, _defer_by=pause,
            )  # fmt: skip
            return f"again in {pause}"
        outage = await self.outages.get(call.outage_id)
        await self.store.flag(outage.region, call.outage_id, call.notice_id, call.entry)
        await self.ledger.advance(
            call.outage_id, call.notice_id, call.entry, "unconfirmed", "no_confirmation"
        )
        log.warning("call never confirmed: flagged for a person to call", outage_id=call.outage_id,
                    notice_id=call.notice_id, entry=call.entry, attempts=call.attempt, status=call_status)  # fmt: skip
        return "flagged"

    async def redial(self, outage_id: str, notice_id: str, entry: str, language: str, attempt: int) -> str:
        if await self.ledger.status_of(outage_id, notice_id, entry) == "confirmed":
            return "confirmed"
        account, _, contact_id = entry.partition("/")
        to = ""
        if contact_id:
            to = next((c.address for c in await self.contacts.of_account(account) if c.id == contact_id), "")
        else:
            customer = await self.customers.get(account)
            to = customer.phone if customer else ""
        if not to:
            return "gone"
        provider = calls(self.settings, self.queue, self.clock)
        try:
            placed = await provider.call(to, MessageRef(outage_id, notice_id, entry, language), attempt)
        finally:
            await provider.close()
        return str(placed.sid)
