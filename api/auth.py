"""Bearer API keys: who is calling, from which centre and region, in which roles."""

import base64
from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from schemas.errors import Unauthorized
from schemas.keys import ApiKey
from services.access import AccessService


async def provide_caller(request: Request[Any, Any, Any], access: NamedDependency[AccessService]) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() == "basic":
        # Browsers can only send keys this way: any user name, the API key as the password.
        try:
            secret = base64.b64decode(secret.strip()).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            secret = ""
        scheme = "bearer"
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized(
            "an API key is required: send 'Authorization: Bearer <key>'",
            field="Authorization",
            rule="bearer_key",
        )
    key = await access.key_of(secret.strip())
    if key is None:
        raise Unauthorized("this API key is unknown or revoked", field="Authorization", rule="known_key")
    return key
