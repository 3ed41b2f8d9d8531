"""Losing the Redis primary of a Sentinel deployment: real server processes (a primary, a replica,
three sentinels), real API and worker processes, SIGKILL.

The drill (bench/failover.py, `python -m bench.failover --runs 3` for the documented figures)
runs once here with the issue's sizes: 20,000 recipients, submissions streaming to two API
processes, two workers.
"""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from bench.failover import drill
from bench.topology import Topology
from schemas.kinds import Role
from schemas.settings import Settings
from store import keys as store_keys
from store.api_keys import ApiKeyStore
from store.connection import connect_sentinel
from tests.asgi import app_client
from tests.bodies import outage_body
from tests.conftest import REGION, FakeClock

RESUME_TARGET_S = 10.0


async def test_sigkill_of_the_primary_loses_no_acknowledged_write_and_no_message(tmp_path: Path) -> None:
    result = await drill(tmp_path, replicas=1, recipients=20_000, kill_after=5_000, restart_after=2.0)
    assert result.acknowledged > 0 and result.refused >= 0
    assert result.lost == [], result.lost
    assert result.delivered == 20_000, result.line()
    assert result.duplicates == 0, result.line()
    assert result.restarted_processes == [], "an API or worker process had to be restarted"
    assert result.failover_s <= RESUME_TARGET_S, result.line()
    assert result.resumed_s <= RESUME_TARGET_S, result.line()
    print("\n" + result.line())


async def test_the_old_primary_coming_back_by_itself_does_not_resurrect_what_was_never_acknowledged(
    tmp_path: Path, settings: Settings, clock: FakeClock
) -> None:
    """A write the replica never got (answered 503) is on the old primary's disk. The old primary
    restarts with its own config, as a primary; the sentinels demote it, it takes the new
    primary's data, and that write is gone everywhere: nothing unacknowledged comes back."""
    topology = Topology(tmp_path / "store", replicas=1, down_after_ms=1500).start()
    redis = connect_sentinel(
        topology.sentinel_addresses,
        "outage-notice",
        2.0,
        password=topology.password,
        sentinel_password=topology.sentinel_password,
    )
    replicated = msgspec.structs.replace(settings, redis_min_replicas=1, redis_replica_timeout=0.3)
    try:
        _, secret = await ApiKeyStore(redis).create(
            name="s", centre="c", region=REGION, roles=frozenset({Role.SUBMITTER}), now=clock()
        )
        headers = {"Authorization": f"Bearer {secret}"}
        primary = topology.primary_port()
        assert primary is not None
        replica = next(n for n in topology.data if n.port != primary)
        async with app_client(replicated, redis, clock) as client:
            kept = await client.post(
                "/api/v1/outages", json=outage_body(clock(), external_id="KEPT"), headers=headers
            )
            assert kept.status_code == 201, kept.text

            # The replica loses its link and cannot get it back (a wrong password), so the next
            # write stays on the primary alone.
            on_replica, on_primary = topology.client(replica.port), topology.client(primary)
            on_replica.config_set("masterauth", "wrong")
            on_primary.client_kill_filter(_type="slave")
            await asyncio.to_thread(_until, lambda: not topology.is_replica_in_sync(replica.port), 10)
            refused = await client.post(
                "/api/v1/outages", json=outage_body(clock(), external_id="UNACKED"), headers=headers
            )
            assert refused.status_code == 503, refused.text
            unacked_on_old = await redis.get(store_keys.outage_by_external_id("c", "UNACKED"))
            assert unacked_on_old is not None, "the refused write is on the old primary"
            topology.node(primary).kill()
            on_replica.config_set("masterauth", topology.password)
            on_replica.close()
            on_primary.close()
            await asyncio.to_thread(topology.wait_for_new_primary, primary)

            # Back with its old config and its AOF (which has the refused write), as a primary.
            topology.node(primary).start()
            await asyncio.to_thread(_until, lambda: topology.is_replica_in_sync(primary), 40)

            resent = await client.post(
                "/api/v1/outages", json=outage_body(clock(), external_id="UNACKED"), headers=headers
            )
            assert resent.status_code == 201, resent.text
            assert (
                await client.get(f"/api/v1/outages/{kept.json()['id']}", headers=headers)
            ).status_code == 200

        old = topology.client(primary)
        new = topology.client(replica.port)
        stale_id = unacked_on_old.decode()
        assert stale_id != resent.json()["id"]
        for server in (old, new):
            assert not server.exists(store_keys.outage(stale_id)), "the unacknowledged record came back"
            assert (
                server.get(store_keys.outage_by_external_id("c", "UNACKED")) == resent.json()["id"].encode()
            )
        assert old.dbsize() == new.dbsize()
        old.close()
        new.close()
    finally:
        await redis.aclose()
        topology.stop()


def _until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds}s"
        time.sleep(0.05)


@pytest.mark.parametrize("value", ["10.0.0.7", "10.0.0.7:notaport", ":26379", "10.0.0.7:70000"])
def test_a_sentinel_address_that_is_not_host_port_is_refused_naming_the_setting(value: str) -> None:
    from schemas.settings import SettingsError, settings_from_env

    with pytest.raises(SettingsError, match="REDIS_SENTINELS"):
        settings_from_env({"REDIS_SENTINELS": value})
