"""`python -m workers`: run the arq worker against REDIS_URL."""

from api.logs import configure_logging
from schemas.clock import clock_in
from schemas.settings import settings_from_env
from workers.worker import build_worker


def main() -> None:
    configure_logging()
    settings = settings_from_env()
    build_worker(settings, clock_in(settings.zone)).run()


if __name__ == "__main__":
    main()
