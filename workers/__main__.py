"""`python -m workers`: run the arq worker against REDIS_URL."""

from publishers.registry import PublisherRegistry
from schemas.clock import clock_in
from schemas.settings import settings_from_env
from workers.worker import build_worker


def main() -> None:
    settings = settings_from_env()
    # Channel publishers (SMS, web, IVR) register here as their issues land.
    build_worker(settings, PublisherRegistry(), clock_in(settings.zone)).run()


if __name__ == "__main__":
    main()
