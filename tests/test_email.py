"""The email channel against a real SMTP server (aiosmtpd): a verified email contact gets each
notice once, as text and HTML, with a one-click unsubscribe that works."""

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import msgspec
import pytest
from aiosmtpd.controller import Controller
from arq.connections import ArqRedis

from schemas.settings import Settings
from store.embedded import free_port
from store.outbox import Outbox
from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import submit_and_approve
from workers.worker import build_worker

Client = httpx.AsyncClient


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def _run(settings: Settings, redis: ArqRedis, clock: FakeClock) -> None:
    worker = build_worker(settings, clock, redis=redis, burst=True)
    await worker.main()
    await worker.on_shutdown(worker.ctx)


async def test_an_email_contact_gets_each_notice_once_with_a_working_one_click_unsubscribe(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    mailing = msgspec.structs.replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, email_from="95598@grid.example"
    )
    await load(redis, row("A1", phone(1), language="en"), row("A2", phone(2)))
    assert (await client.post("/api/v1/subscriptions", json={"account": "A1", "address": "Li@Example.com",
                                                              "channel": "email", "language": "en"})).status_code == 202  # fmt: skip
    await _run(mailing, redis, clock)
    _, sms = await Outbox(redis).page(0, 10)
    code = re.search(r"Code (\d{6})", next(m.body for m in sms if m.to == phone(1))).group(1)  # type: ignore[union-attr]
    verified = await client.post(
        "/api/v1/subscriptions/verify", json={"account": "A1", "address": "li@example.com", "code": code}
    )
    assert verified.status_code == 201 and verified.json()["contact"]["address"] == "li@example.com"

    outage = await submit_and_approve(
        client, keys, outage_body(clock(), title="Keyuan", scope={"feeders": ["F1"]})
    )
    await _run(mailing, redis, clock)
    assert [to for _, to in inbox.envelopes] == [["li@example.com"]], "A2 has no email contact: no email"
    [mail] = inbox.messages
    assert mail["To"] == "li@example.com" and mail["From"] == "95598@grid.example"
    assert mail["Message-ID"] and "Planned outage" in mail["Subject"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    assert "Replacing switchgear" in text.get_content() and "<a href=" in html.get_content()
    deliveries = (
        await client.get(f"/api/v1/outages/{outage['id']}/deliveries", headers=keys.headers("reviewer"))
    ).json()
    email = deliveries["notices"][0]["channels"]["email"]
    assert (email["recipients"], email["accepted"]) == (1, 1)
    window = {"region": "310115", "from": "2026-01-01T00:00:00+08:00", "to": "2027-01-01T00:00:00+08:00"}
    compliance = (
        await client.get("/api/v1/compliance", params=window, headers=keys.headers("reviewer"))
    ).json()
    [row_] = [n for n in compliance["notices"] if n["outage_id"] == outage["id"]]
    assert row_["by_channel"]["email"] == {"recipients": 1, "handed_over": 1, "opted_out": 0}
    assert row_["by_channel"]["sms"]["handed_over"] == 2

    link = re.match(r"<(.+)>", mail["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
    path = link.removeprefix(mailing.public_base_url)
    assert (await client.get(path)).status_code == 200, "opening the link unsubscribes nobody"
    one_click = await client.post(path, content=b"List-Unsubscribe=One-Click",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert one_click.status_code == 200
    forged = path[:-4] + ("0000" if not path.endswith("0000") else "1111")
    assert (await client.post(forged)).status_code == 404

    second = await submit_and_approve(
        client, keys, outage_body(clock(), external_id="EXT-2", scope={"feeders": ["F1"]})
    )
    await _run(mailing, redis, clock)
    assert len(inbox.messages) == 1, "unsubscribed"
    later = (
        await client.get(f"/api/v1/outages/{second['id']}/deliveries", headers=keys.headers("reviewer"))
    ).json()
    assert later["notices"][0]["channels"]["email"]["opted_out"] == 1
    # SMS is its own channel: the account's phone still gets its notices.
    _, sms = await Outbox(redis).page(0, 50)
    assert len([m for m in sms if m.to == phone(1) and m.outage_id == second["id"]]) == 1


async def test_without_smtp_emails_go_to_the_dev_outbox(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)))
    await client.post(
        "/api/v1/subscriptions", json={"account": "A1", "address": "wang@example.com", "channel": "email"}
    )
    await run_channels()
    _, sms = await Outbox(redis).page(0, 10)
    code = re.search(r"验证码(\d{6})", sms[0].body).group(1)  # type: ignore[union-attr]
    await client.post(
        "/api/v1/subscriptions/verify", json={"account": "A1", "address": "wang@example.com", "code": code}
    )
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    _, messages = await Outbox(redis).page(0, 10)
    [email] = [m for m in messages if m.to == "wang@example.com"]
    assert email.outage_id == outage["id"] and "计划停电" in email.body and email.encoding == "email"


async def test_sms_email_and_a_family_phone_each_get_a_notice_once(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    mailing = msgspec.structs.replace(settings, smtp_host="127.0.0.1", smtp_port=port)
    await load(redis, row("A1", phone(1)))
    for address, channel in ((phone(50), "sms"), ("home@example.com", "email")):
        await client.post(
            "/api/v1/subscriptions", json={"account": "A1", "address": address, "channel": channel}
        )
        await _run(mailing, redis, clock)
        _, sms = await Outbox(redis).page(0, 10)
        code = re.search(r"验证码(\d{6})", sms[0].body).group(1)  # type: ignore[union-attr]
        done = await client.post(
            "/api/v1/subscriptions/verify", json={"account": "A1", "address": address, "code": code}
        )
        assert done.status_code == 201, done.text
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    # Published twice over (a re-run of the publish job, a worker restart): still once each.
    await _run(mailing, redis, clock)
    await _run(mailing, redis, clock)
    _, messages = await Outbox(redis).page(0, 50)
    notices = sorted(m.to for m in messages if m.outage_id == outage["id"])
    assert notices == sorted([phone(1), phone(50)])
    assert [to for _, to in inbox.envelopes] == [["home@example.com"]]
