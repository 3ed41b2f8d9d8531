"""`python -m workers`: run the arq worker against REDIS_URL, and keep running through Redis outages."""

import sys
import time

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from schemas.clock import clock_in
from schemas.settings import SettingsError, settings_from_env
from services.logs import configure_logging
from workers.worker import build_worker

log = structlog.get_logger("workers")


def main() -> None:
    configure_logging()
    try:
        settings = settings_from_env()
    except SettingsError as exc:
        sys.exit(f"settings: {exc}")
    if not settings.external_store:
        sys.exit("settings: the worker needs REDIS_URL or REDIS_SENTINELS")
    wait = 1.0
    while True:
        try:
            # arq's worker stops when Redis goes away; a new one reconnects when it is back.
            build_worker(settings, clock_in(settings.zone)).run()
            return
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("redis unreachable, worker restarting", error=str(exc), retry_in_s=wait)
            time.sleep(wait)
            wait = min(wait * 2, 10.0)


if __name__ == "__main__":
    main()
