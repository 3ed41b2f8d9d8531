"""Plays Twilio's part in a call: signs each webhook request and reads the TwiML it gets back."""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import httpx
from twilio.request_validator import RequestValidator

PUBLIC = "https://notices.example.com"
TOKEN = "ivr-test-token"


@dataclass
class Turn:
    """One TwiML answer, flattened: what is said, the Gather (if any), and what follows it."""

    says: list[str] = field(default_factory=list)
    gather: dict[str, str] | None = None
    gather_says: list[str] = field(default_factory=list)
    redirect: str | None = None
    dial: str | None = None
    hangup: bool = False
    # (language, text) of every Say, in order, inside the Gather or not.
    spoken: list[tuple[str, str]] = field(default_factory=list)

    @property
    def all_text(self) -> str:
        return " ".join(self.says + self.gather_says)


def parse(twiml: str) -> Turn:
    root = ET.fromstring(twiml)
    assert root.tag == "Response", twiml
    turn = Turn()
    for verb in root:
        if verb.tag == "Say":
            turn.says.append(verb.text or "")
            turn.spoken.append((verb.get("language", ""), verb.text or ""))
        elif verb.tag == "Gather":
            assert turn.gather is None, "one Gather per answer"
            turn.gather = dict(verb.attrib)
            turn.gather_says = [s.text or "" for s in verb if s.tag == "Say"]
            turn.spoken += [(s.get("language", ""), s.text or "") for s in verb if s.tag == "Say"]
            assert all(s.tag == "Say" for s in verb)
        elif verb.tag == "Redirect":
            turn.redirect = verb.text
        elif verb.tag == "Dial":
            turn.dial = verb.text
        elif verb.tag == "Hangup":
            turn.hangup = True
        else:
            raise AssertionError(f"unexpected verb {verb.tag}")
    assert turn.says or turn.gather_says, "every answer says something"
    assert turn.gather or turn.dial or turn.hangup or turn.redirect, "no dead end"
    return turn


class Caller:
    def __init__(self, client: httpx.AsyncClient, number: str, call_sid: str = "CA123") -> None:
        self.client = client
        self.number = number
        self.call_sid = call_sid
        self.turn = Turn()

    async def _post(self, url: str, extra: dict[str, str] | None = None) -> Turn:
        params = {"From": self.number, "To": "+8695598", "CallSid": self.call_sid, **(extra or {})}
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        response = await self.client.post(
            url.removeprefix(PUBLIC), data=params, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        self.turn = parse(response.text)
        return self.turn

    async def dial_in(self) -> Turn:
        return await self._post(f"{PUBLIC}/ivr/voice")

    async def press(self, digits: str) -> Turn:
        assert self.turn.gather is not None, "nothing to press"
        return await self._post(self.turn.gather["action"], {"Digits": digits})

    async def wait(self) -> Turn:
        assert self.turn.redirect is not None, "nothing follows"
        return await self._post(self.turn.redirect)
