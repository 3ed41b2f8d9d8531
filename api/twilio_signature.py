"""X-Twilio-Signature, checked the one way every webhook of this service needs."""

from typing import Any

from litestar import Request
from twilio.request_validator import RequestValidator

from schemas.errors import Forbidden

# Twilio's webhook forms are a few hundred bytes (an SMS body is at most 1,600 characters): a
# larger body is refused (413) before it is read, whatever MAX_BODY_BYTES allows elsewhere.
WEBHOOK_MAX_BODY = 16 * 1024


async def verified_params(
    request: Request[Any, Any, Any], public_base_url: str, token: str
) -> dict[str, str]:
    """The form parameters, if the signature matches them and the URL Twilio was given.

    The URL is rebuilt from PUBLIC_BASE_URL, never from the Host or X-Forwarded-Host headers, so a
    request addressed to another host cannot pass.
    """
    signature = request.headers.get("x-twilio-signature", "")
    # Unsigned requests are refused before the body is read: parsing a large form costs time that
    # the phone menu's callers would wait for.
    if not signature:
        raise Forbidden("X-Twilio-Signature is missing", field="X-Twilio-Signature", rule="signature")
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    query = f"?{request.url.query}" if request.url.query else ""
    url = public_base_url + request.url.path + query
    if not RequestValidator(token).validate(url, params, signature):
        raise Forbidden(
            "X-Twilio-Signature is missing or does not match", field="X-Twilio-Signature", rule="signature"
        )
    return params
