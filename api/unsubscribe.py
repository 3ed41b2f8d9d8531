"""One-click unsubscribe (RFC 8058): mail clients POST to the link in List-Unsubscribe; a person
who opens it gets a page with a button (a GET never unsubscribes: mail scanners follow links)."""

from html import escape

from litestar import MediaType, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from services.registration import RegistrationService

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>退订 Unsubscribe · 95598</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem;">{body}</body></html>"""


@get("/unsubscribe/{token:str}", include_in_schema=False)
async def unsubscribe_page(token: FromPath[str]) -> Response[str]:
    form = (
        f'<h1>退订停电通知邮件 · Stop outage emails</h1><form method="post" action="/unsubscribe/{escape(token)}">'
        '<button type="submit">确认退订 Unsubscribe</button></form>'
    )
    return Response(_PAGE.format(body=form), media_type=MediaType.HTML)


@post("/unsubscribe/{token:str}", include_in_schema=False, status_code=200)
async def unsubscribe(
    token: FromPath[str], registration: NamedDependency[RegistrationService]
) -> Response[str]:
    _, address = await registration.unsubscribe(token)
    done = f"<h1>已退订 · Unsubscribed</h1><p>{escape(address)} 将不再收到停电通知邮件。 No more outage emails to this address.</p>"
    return Response(_PAGE.format(body=done), media_type=MediaType.HTML)
