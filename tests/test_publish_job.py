"""Approval hands the notice to every registered channel through an arq job, once per channel."""

from typing import Any

import httpx
from arq.connections import ArqRedis

from schemas.kinds import NoticeEvent
from schemas.settings import Settings
from services.jobs import enqueue_publish, publish_job_id
from store.dispatch import DispatchLedger
from tests.bodies import iso, outage_body
from tests.conftest import FakeClock, Keys
from tests.flows import approve, submit_and_approve
from tests.recording import RecordingPublisher
from workers.publish import publish_notice, redispatch_lost

Client = httpx.AsyncClient


async def test_approval_publishes_the_notice_to_each_channel_once(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings, run_worker: Any
) -> None:
    web, sms = RecordingPublisher("web"), RecordingPublisher("sms")
    outage = await submit_and_approve(client, keys, outage_body(clock()))
    assert await redis.zcard(settings.queue_name) == 1
    await run_worker(web, sms)
    for channel in (web, sms):
        assert [(n.outage.id, n.id, n.event) for n in channel.received] == [
            (outage["id"], "new", NoticeEvent.NEW)
        ]
        assert channel.received[0].published_at.isoformat() == outage["published_at"]
    history = (
        await client.get(f"/api/v1/outages/{outage['id']}/history", headers=keys.headers("reviewer"))
    ).json()
    assert history[-1]["action"] == "dispatched"
    assert history[-1]["changed"] == {"web": [None, "published"], "sms": [None, "published"]}
    assert await DispatchLedger(redis).pending(clock()) == []


async def test_publishing_the_same_notice_again_reaches_no_channel_twice(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings, run_worker: Any
) -> None:
    recorder = RecordingPublisher("web")
    outage = await submit_and_approve(client, keys, outage_body(clock()))
    await run_worker(recorder)
    await enqueue_publish(redis, settings.queue_name, outage["id"], "new")
    await publish_notice(_ctx(redis, recorder, clock), outage["id"], "new")
    await run_worker(recorder)
    assert len(recorder.received) == 1


async def test_change_notice_carries_its_event_and_change(
    client: Client, keys: Keys, clock: FakeClock, run_worker: Any, recorder: RecordingPublisher
) -> None:
    outage = await submit_and_approve(client, keys, outage_body(clock()))
    await client.post(
        f"/api/v1/outages/{outage['id']}/changes",
        json={
            "type": "delay_restoration",
            "reason": "Late parts",
            "ends_at": iso(clock().replace(year=2027)),
        },
        headers=keys.headers("submitter"),
    )
    await approve(client, keys, outage["id"], "reviewer")
    await run_worker()
    # The burst worker runs both jobs at once; channels must not depend on their order (the SMS
    # channel holds a change back from whoever has not had the outage notice yet).
    received = {n.id: n for n in recorder.received}
    assert len(recorder.received) == 2
    assert {(n.id, n.event) for n in received.values()} == {
        ("new", NoticeEvent.NEW),
        ("c1", NoticeEvent.RESTORATION_DELAYED),
    }
    assert received["new"].change is None
    assert received["c1"].change is not None
    assert received["c1"].outage.ends_at == clock().replace(year=2027)


async def test_retryable_failure_is_retried_without_repeating_channels_that_succeeded(
    client: Client, keys: Keys, clock: FakeClock, run_worker: Any
) -> None:
    flaky, steady = RecordingPublisher("flaky"), RecordingPublisher("steady")
    flaky.fail_next(retryable=True, times=2)
    outage = await submit_and_approve(client, keys, outage_body(clock()))
    await run_worker(flaky, steady)
    assert len(flaky.received) == 1
    assert len(steady.received) == 1
    history = (
        await client.get(f"/api/v1/outages/{outage['id']}/history", headers=keys.headers("reviewer"))
    ).json()
    assert history[-1]["changed"]["flaky"] == [None, "published"]


async def test_permanent_failure_is_recorded_and_not_retried(
    client: Client, keys: Keys, clock: FakeClock, run_worker: Any, redis: ArqRedis
) -> None:
    broken = RecordingPublisher("broken")
    broken.fail_next(retryable=False)
    broken.fail_next(retryable=False)
    outage = await submit_and_approve(client, keys, outage_body(clock()))
    await run_worker(broken)
    assert broken.received == []
    assert len(broken.failures) == 1
    history = (
        await client.get(f"/api/v1/outages/{outage['id']}/history", headers=keys.headers("reviewer"))
    ).json()
    assert history[-1]["changed"]["broken"] == [None, "failed: channel refused the notice"]
    assert await DispatchLedger(redis).pending(clock()) == []


async def test_a_lost_publish_job_is_found_and_enqueued_again(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings, run_worker: Any
) -> None:
    recorder = RecordingPublisher("web")
    outage = await submit_and_approve(client, keys, outage_body(clock()))
    # As if the API died between committing the approval and enqueueing its job.
    await redis.delete(settings.queue_name, f"arq:job:{publish_job_id(outage['id'], 'new')}")
    ctx = _ctx(redis, recorder, clock) | {"redis": redis, "queue_name": settings.queue_name}
    assert await redispatch_lost(ctx) == 0
    clock.advance(minutes=3)
    assert await redispatch_lost(ctx) == 1
    await run_worker(recorder)
    assert [n.outage.id for n in recorder.received] == [outage["id"]]


async def test_first_of_two_large_area_approvals_enqueues_nothing(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings
) -> None:
    await submit_and_approve(client, keys, outage_body(clock(), large_area=True))
    assert await redis.zcard(settings.queue_name) == 0


def _ctx(redis: ArqRedis, recorder: RecordingPublisher, clock: FakeClock) -> dict[str, Any]:
    from publishers.registry import PublisherRegistry
    from store.outages import OutageStore

    return {
        "redis": redis,
        "outages": OutageStore(redis),
        "dispatch": DispatchLedger(redis),
        "publishers": PublisherRegistry([recorder]),
        "clock": clock,
        "settings": Settings(),
    }
