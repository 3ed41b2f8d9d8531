"""X-Twilio-Signature, checked the one way every webhook of this service needs."""

from typing import Any

from litestar import Request
from twilio.request_validator import RequestValidator

from schemas.errors import Forbidden


async def verified_params(
    request: Request[Any, Any, Any], public_base_url: str, token: str
) -> dict[str, str]:
    """The form parameters, if the signature matches them and the URL Twilio was given.

    The URL is rebuilt from PUBLIC_BASE_URL, never from the Host or X-Forwarded-Host headers, so a
    request addressed to another host cannot pass.
    """
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    query = f"?{request.url.query}" if request.url.query else ""
    url = public_base_url + request.url.path + query
    signature = request.headers.get("x-twilio-signature", "")
    if not signature or not RequestValidator(token).validate(url, params, signature):
        raise Forbidden(
            "X-Twilio-Signature is missing or does not match", field="X-Twilio-Signature", rule="signature"
        )
    return params
