"""`cli.asgi:app`, the app factory for running several API processes (uvicorn --factory --workers N).

Each process reads the settings from the environment and makes its own Redis client, which
connects on first use (a process's event loop does not exist before uvicorn starts it).
"""

from litestar import Litestar

from api.app import create_app
from schemas.settings import settings_from_env
from services.logs import configure_logging
from store.connection import connect_store


def app() -> Litestar:
    configure_logging()
    settings = settings_from_env()
    if not settings.external_store:
        raise RuntimeError(
            "several API processes need REDIS_URL or REDIS_SENTINELS (serve sets REDIS_URL for its embedded Redis)"
        )
    return create_app(settings, connect_store(settings))
