"""A local stand-in for api.twilio.com's Messages endpoint, driven by the real twilio SDK.

It checks basic auth and the form fields, records every request, and answers as it is told:
429, 500, or a Twilio error code, for the next requests or for given numbers.
"""

import base64
import json
import secrets
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
FROM = "+15005550006"


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when a fan-out opens hundreds at once.
    request_queue_size = 1024

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up on its request (a send cancelled mid-flight) is not the fake's error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.created: list[dict[str, str]] = []
        # Calls placed (Calls.json): To, From, Url, StatusCallback and the call's sid.
        self.calls: list[dict[str, str]] = []
        self._plan: deque[tuple[int, int | None, bool]] = deque()
        self.number_errors: dict[str, tuple[int, int]] = {}
        # Seconds each accepted request takes, to keep a fan-out going long enough to interrupt.
        self.delay = 0.0
        self.lookups = 0
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer_next(
        self, status: int, code: int | None = None, times: int = 1, *, after_accepting: bool = False
    ) -> None:
        """The next requests get this error; `after_accepting`: the message is created all the same."""
        with self._lock:
            self._plan.extend([(status, code, after_accepting)] * times)

    def start(self) -> "FakeTwilio":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def messages_to(self, number: str) -> list[dict[str, str]]:
        return [m for m in self.created if m["To"] == number]

    def _decide(self, form: dict[str, str]) -> tuple[int, int | None, bool]:
        with self._lock:
            if form.get("To") in self.number_errors:
                return (*self.number_errors[form["To"]], False)
            if self._plan:
                return self._plan.popleft()
        return 201, None, True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def _send(self, status: int, body: dict[str, object]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                    self._send(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                to = parse_qs(query).get("To", [""])[0]
                with fake._lock:
                    fake.lookups += 1
                    found = [m for m in fake.created if m["To"] == to]
                messages = [{"sid": m["sid"], "to": m["To"], "from": m["From"], "body": m["Body"], "status": "queued",
                             "account_sid": ACCOUNT_SID} for m in reversed(found)]  # fmt: skip
                self._send(200, {"messages": messages, "next_page_uri": None, "page": 0, "page_size": 50,
                                 "uri": path})  # fmt: skip

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                with fake._lock:
                    fake.requests.append(form)
                expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return
                if self.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json":
                    # A call: placed at once; what the callee does the test plays through the webhooks.
                    missing = [f for f in ("To", "From", "Url") if not form.get(f)]
                    if missing:
                        self._send(400, {"code": 21205, "message": f"missing {missing}", "status": 400})
                        return
                    sid = "CA" + secrets.token_hex(16)
                    with fake._lock:
                        fake.calls.append({**form, "sid": sid})
                    self._send(201, {
                        "sid": sid, "account_sid": ACCOUNT_SID, "to": form["To"], "from": form["From"],
                        "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
                        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json",
                    })  # fmt: skip
                    return
                if self.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                    self._send(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                missing = [f for f in ("To", "From", "Body") if not form.get(f)]
                if missing:
                    self._send(400, {"code": 21602, "message": f"missing {missing}", "status": 400})
                    return
                status, code, accepted = fake._decide(form)
                if fake.delay and accepted:
                    time.sleep(fake.delay)
                sid = "SM" + secrets.token_hex(16)
                if accepted:
                    with fake._lock:
                        fake.created.append({**form, "sid": sid})
                if status >= 300:
                    self._send(status, {"code": code or status, "message": "fake failure", "status": status})
                    return
                self._send(201, {
                    "sid": sid, "account_sid": ACCOUNT_SID, "to": form["To"], "from": form["From"],
                    "body": form["Body"], "status": "queued", "num_segments": "1", "direction": "outbound-api",
                    "api_version": "2010-04-01", "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
                })  # fmt: skip

        return Handler
