"""The 95598 phone menu as a dialogue: what each step says, where each key leads, answered from
the IVR index only; every answer is TwiML, valid whatever happens to Redis."""

import asyncio
from collections.abc import Awaitable, Mapping
from urllib.parse import urlencode

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from twilio.twiml.voice_response import Gather, VoiceResponse

from schemas.clock import Clock
from schemas.customers import e164
from schemas.errors import Unprocessable
from schemas.fault_reports import ReportChannel, ReportSubmission, Symptom
from schemas.ivr import PARENT, PROMPTS, IvrOutage, State, describe, planned_soon, relevant
from schemas.settings import Settings
from services.fault_reports import FaultReportService, NeedsAccount
from services.jobs import IVR_REQUESTS, enqueue_message
from store.customers import CustomerStore
from store.ivr import IvrIndex

GATHER_TIMEOUT = 6


class Call:
    """One webhook request of a call: who, in which state and language, and how to answer."""

    def __init__(self, query: Mapping[str, str], params: dict[str, str], settings: Settings) -> None:
        self.settings = settings
        self.params = params
        self.state = (
            State(query.get("state", State.MAIN.value)) if query.get("state") in set(State) else State.MAIN
        )
        self.language = "en" if query.get("lang") == "en" else "zh-CN"
        self.tries = int(query.get("tries", "0")) if query.get("tries", "0").isdigit() else 0
        self.account = query.get("account", "")
        self.twiml = VoiceResponse()

    @property
    def caller(self) -> str:
        return self.params.get("From", "")

    def text(self, name: str, **values: str) -> str:
        return PROMPTS[self.language][name].format(
            prefix=self.settings.ivr_greeting_prefix, hotline=self.settings.hotline, **values
        )

    @property
    def other_language(self) -> str:
        return "zh-CN" if self.language == "en" else "en"

    def say(self, text: str, into: VoiceResponse | Gather | None = None, language: str | None = None) -> None:
        english = (language or self.language) == "en"
        voice = self.settings.ivr_voice_en if english else self.settings.ivr_voice_zh
        (into or self.twiml).say(text, voice=voice, language="en-US" if english else "cmn-CN")

    def url(self, state: State, step: str, **extra: str | int) -> str:
        query = {"state": state.value, "step": step, "lang": self.language, **extra}
        return f"{self.settings.public_base_url}/ivr/menu?{urlencode(query)}"

    def menu(
        self, state: State, lines: list[str | tuple[str, str]], *, account: str = "", digits: int = 1
    ) -> str:
        """Prompts inside a Gather (a key press interrupts them); no input: once more, then goodbye."""
        extra: dict[str, str | int] = {"account": account} if account else {}
        if digits == 1:
            gather = Gather(input="dtmf", num_digits=1, timeout=GATHER_TIMEOUT,
                            action=self.url(state, "choose", **extra), method="POST")  # fmt: skip
        else:
            gather = Gather(input="dtmf", finish_on_key="#", num_digits=digits, timeout=GATHER_TIMEOUT + 4,
                            action=self.url(state, "choose", **extra), method="POST")  # fmt: skip
        for line in lines:
            # A (language, text) line is said in that language, whatever the call's.
            if isinstance(line, tuple):
                self.say(line[1], gather, language=line[0])
            else:
                self.say(line, gather)
        self.twiml.append(gather)
        self.twiml.redirect(self.url(state, "show", tries=self.tries + 1, **extra), method="POST")
        return self.done()

    def goodbye(self) -> str:
        self.say(self.text("goodbye"))
        self.twiml.hangup()
        return self.done()

    def agent(self, reason: str = "agent") -> str:
        self.say(self.text(reason))
        self.twiml.dial(self.settings.ivr_agent_number)
        return self.done()

    def done(self) -> str:
        return str(self.twiml)


class Menu:
    """What each state says and where each key leads; data comes from the IVR index only."""

    def __init__(self, call: Call, redis: ArqRedis, clock: Clock, fault_reports: FaultReportService) -> None:
        self.call = call
        self.fault_reports = fault_reports
        self.redis = redis
        self.index = IvrIndex(redis)
        self.now = clock()

    def _sentences(self, outages: list[IvrOutage]) -> list[str]:
        zone = self.call.settings.zone
        return [describe(o, self.now, self.call.language, zone) for o in outages]

    async def _caller_outages(self) -> tuple[bool, list[IvrOutage]]:
        caller = await self.index.for_caller(self.call.caller, self.now)
        seen: dict[str, IvrOutage] = {}
        for outages in caller.outages.values():
            for outage in outages:
                if relevant(outage, self.now):
                    seen.setdefault(outage.id, outage)
        return bool(caller.customers), sorted(seen.values(), key=lambda o: o.starts_at)

    async def _known_caller(self) -> bool:
        return bool((await self.index.for_caller(self.call.caller, self.now)).customers)

    async def show(self, state: State) -> str:
        call = self.call
        if state is State.MAIN:
            # "中文服务请按9" in an English menu is said in Mandarin, and the other way round.
            offer = (call.other_language, call.text("other_language"))
            return call.menu(State.MAIN, [call.text("main"), offer, call.text("main_end")])
        if state is State.MY_OUTAGES:
            known, outages = await self._caller_outages()
            if not known:
                call.say(call.text("unknown_caller"))
                return await self.show(State.ENTER_ACCOUNT)
            lines = self._sentences(outages) or [call.text("none")]
            return call.menu(State.MY_OUTAGES, [*lines, call.text("my_outages_menu")])
        if state is State.WEEK:
            caller = await self.index.for_caller(call.caller, self.now)
            if not caller.customers:
                call.say(call.text("unknown_caller"))
                return await self.show(State.ENTER_ACCOUNT)
            soon = {
                o.id: o for outages in caller.outages.values() for o in outages if planned_soon(o, self.now)
            }
            lines = self._sentences(sorted(soon.values(), key=lambda o: o.starts_at)) or [
                call.text("week_none")
            ]
            return call.menu(State.WEEK, [*lines, call.text("week_menu")])
        if state is State.ENTER_ACCOUNT:
            return call.menu(State.ENTER_ACCOUNT, [call.text("enter_account")], digits=20)
        if state is State.REPORT_ACCOUNT:
            return call.menu(State.REPORT_ACCOUNT, [call.text("report_account")], digits=20)
        if state is State.REPORTED:
            return await self._reported([])
        if state is State.ACCOUNT_RESULT:
            told = await self._account_lines(call.account)
            if told is None:
                call.say(call.text("no_account"))
                return await self.show(State.ENTER_ACCOUNT)
            return call.menu(State.ACCOUNT_RESULT, [*told, call.text("account_menu")], account=call.account)
        return call.menu(State.SMS_SENT, [call.text("sms_sent"), call.text("sms_menu")])

    async def _account_lines(self, account: str) -> list[str] | None:
        customers = CustomerStore(self.redis)
        customer = await customers.get(account) if account else None
        if customer is None:
            return None
        # Arrears or violation stoppages are told only to a number registered on that account.
        private = account in await customers.accounts_of_phone(self.call.caller)
        outages = [
            o
            for o in await self.index.for_customer(customer, self.now, private=private)
            if relevant(o, self.now)
        ]
        return self._sentences(outages) or [self.call.text("none")]

    async def _report(self, account: str, symptom: Symptom) -> str:
        """File the caller's report and say what became of it."""
        call = self.call
        try:
            receipt = await self.fault_reports.report(
                ReportSubmission(account=account, symptom=symptom),
                ReportChannel.IVR,
                caller_phone=call.caller,
                language=call.language,
            )
        except NeedsAccount as exc:
            if exc.extra.get("rule") == "one_account":
                call.say(call.text("report_several"))
            else:
                call.say(call.text("unknown_caller"))
            return await self.show(State.REPORT_ACCOUNT)
        except Unprocessable as exc:
            call.say(call.text("unknown_caller" if exc.extra.get("field") == "phone" else "no_account"))
            return await self.show(State.REPORT_ACCOUNT)
        call.account = receipt.report.account
        return await self._reported([call.text("reported_urgent")] if receipt.urgent else [])

    async def _reported(self, before: list[str]) -> str:
        """The standing of the caller's report, read again (a repeated prompt files nothing)."""
        call = self.call
        told, order = await self.fault_reports.standing(call.account, call.caller, call.language)
        lines = [*told]
        if order is not None:
            lines.append(call.text("reported_order", tail=" ".join(order.id[-4:])))
        elif told:
            lines.append(call.text("reported_explained"))
        lines += before
        return call.menu(State.REPORTED, [*lines, call.text("reported_menu")], account=call.account)

    async def choose(self, state: State, digits: str) -> str:
        call = self.call
        call.tries = 0
        if state is State.REPORT_ACCOUNT:
            if digits == "0":
                return call.agent()
            if digits == "*":
                return await self.show(PARENT[state])
            return await self._report(digits, Symptom.NO_POWER)
        if state is State.REPORTED and digits == "1":
            return await self._report(call.account, Symptom.HAZARD)
        if state is State.ENTER_ACCOUNT:
            if digits == "0":
                return call.agent()
            if digits == "*":
                parent = PARENT[state]
                # A caller whose number is not registered was sent here from the main menu's
                # choices; going "back" to them would only send them here again.
                if parent is State.MY_OUTAGES and not await self._known_caller():
                    parent = State.MAIN
                return await self.show(parent)
            call.account = digits
            return await self.show(State.ACCOUNT_RESULT)
        if digits == "0":
            return call.agent()
        if digits == "*":
            return await self.show(PARENT[state])
        target = {
            (State.MAIN, "1"): State.MY_OUTAGES,
            (State.MAIN, "2"): State.WEEK,
            (State.MY_OUTAGES, "2"): State.ENTER_ACCOUNT,
            (State.ACCOUNT_RESULT, "2"): State.ENTER_ACCOUNT,
            (State.REPORTED, "2"): State.REPORT_ACCOUNT,
        }.get((state, digits))
        if state is State.MAIN and digits == "3":
            return await self._report("", Symptom.NO_POWER)
        if target is not None:
            return await self.show(target)
        if state is State.MAIN and digits == "9":
            call.language = "zh-CN" if call.language == "en" else "en"
            return await self.show(State.MAIN)
        if digits == "1" and state in (State.MY_OUTAGES, State.WEEK, State.ACCOUNT_RESULT):
            return await self._send_sms(state)
        call.say(call.text("wrong_key"))
        return await self.show(state)

    async def _send_sms(self, state: State) -> str:
        call = self.call
        try:
            phone = e164(call.caller)
        except ValueError:
            call.say(call.text("sms_unavailable"))
            return await self.show(PARENT[State.SMS_SENT])
        if state is State.ACCOUNT_RESULT:
            lines = await self._account_lines(call.account) or []
        elif state is State.WEEK:
            caller = await self.index.for_caller(call.caller, self.now)
            lines = self._sentences(
                [o for os in caller.outages.values() for o in os if planned_soon(o, self.now)]
            )
        else:
            lines = self._sentences((await self._caller_outages())[1])
        body = " ".join(lines or [call.text("none")]) + (
            f" Call {call.settings.hotline}."
            if call.language == "en"
            else f"咨询请拨{call.settings.hotline}。"
        )
        call_sid = call.params.get("CallSid", "unknown")
        # One message per call and menu (and account): the job id and the ledger entry say so.
        request = f"{call_sid}:{state.value}" + (f":{call.account}" if call.account else "")
        await enqueue_message(
            self.redis, call.settings.queue_name, phone, body, call.language, IVR_REQUESTS, request
        )
        return await self.show(State.SMS_SENT)


class IvrService:
    """Turns one webhook request of a call (its query and signed form) into the TwiML to answer."""

    def __init__(
        self, settings: Settings, redis: ArqRedis, clock: Clock, fault_reports: FaultReportService
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.clock = clock
        self.fault_reports = fault_reports

    async def incoming(self, query: Mapping[str, str], params: dict[str, str]) -> str:
        call = Call(query, params, self.settings)

        async def greet() -> str:
            # The caller's customers in the same single round trip the outage answer uses.
            found = (await IvrIndex(self.redis).for_caller(call.caller, self.clock())).customers
            if found and all(c.language == "en" for c in found):
                call.language = "en"
            call.say(call.text("greeting"))
            return await Menu(call, self.redis, self.clock, self.fault_reports).show(State.MAIN)

        return await self._bounded(call, greet())

    async def step(self, query: Mapping[str, str], params: dict[str, str]) -> str:
        call = Call(query, params, self.settings)
        menu = Menu(call, self.redis, self.clock, self.fault_reports)
        if query.get("step") == "choose":
            return await self._bounded(call, menu.choose(call.state, params.get("Digits", "")))
        if call.tries >= 2:
            return call.goodbye()
        return await self._bounded(call, menu.show(call.state))

    async def _bounded(self, call: Call, work: Awaitable[str]) -> str:
        """If the index cannot answer within IVR_DATA_TIMEOUT, the caller hears an apology and an
        agent takes over: valid TwiML, always."""
        try:
            async with asyncio.timeout(self.settings.ivr_data_timeout):
                return await work
        except (RedisError, TimeoutError, OSError):
            call.twiml = VoiceResponse()
            return call.agent("sorry")
