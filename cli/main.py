"""`outage-notice`: run the service, run a worker, manage API keys."""

import argparse
import asyncio
import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import msgspec
import uvicorn
from arq.connections import ArqRedis
from tqdm import tqdm

from api.app import create_app
from cli.demo import load_demo
from schemas.clock import clock_in
from schemas.customers import CONVERT_HINT, ENCODING_SAMPLE, FileProblem, ImportReport, file_encoding
from schemas.kinds import Role
from schemas.settings import Settings, SettingsError, settings_from_env
from services.customers import import_customers
from services.demo_customers import synthetic_customers
from services.live import Broadcaster
from services.logs import configure_logging
from services.outages import OutageService
from store.api_keys import ApiKeyStore
from store.connection import connect, connect_store
from store.customers import CustomerStore
from store.embedded import EmbeddedRedis, EmbeddedRedisError, die_with_parent, running_url


def _redis_dir(settings: Settings) -> Path:
    return settings.data_dir / "redis"


@asynccontextmanager
async def _connected(settings: Settings) -> AsyncIterator[ArqRedis]:
    """REDIS_URL, else the service's running embedded server, else one started for this command."""
    embedded = None
    if settings.external_store:
        redis = connect_store(settings)
    else:
        url = running_url(_redis_dir(settings))
        if url is None:
            embedded = EmbeddedRedis(_redis_dir(settings), appendfsync=settings.redis_appendfsync)
            url = embedded.start()
        redis = connect(url, settings.redis_timeout)
    try:
        yield redis
    finally:
        await redis.aclose()
        if embedded is not None:
            embedded.stop()


async def _load_demo(settings: Settings) -> None:
    redis = connect_store(settings)
    try:
        for line in await load_demo(OutageService(settings, redis, clock_in(settings.zone))):
            print(line, flush=True)
    finally:
        await redis.aclose()


async def _serve_api(settings: Settings, on_exit: Callable[[], None] | None = None) -> None:
    redis = connect_store(settings)
    try:
        app = create_app(settings, redis)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="info", access_log=False, log_config=None,
            timeout_graceful_shutdown=2, **proxy_trust(settings),
        )  # fmt: skip
        await StoppingServer(config, app.state.broadcaster, on_exit).serve()
    finally:
        await redis.aclose()


class StoppingServer(uvicorn.Server):
    """uvicorn waits for open connections before it stops; a live page's is open for good. On the
    first Ctrl-C or SIGTERM the live streams end, so the service stops at once, without a second
    signal and its tracebacks."""

    def __init__(
        self, config: uvicorn.Config, broadcaster: Broadcaster, on_exit: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self.broadcaster = broadcaster
        self.on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.on_exit is not None:
            # The worker starts stopping now, while the API closes its connections.
            self.on_exit()
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_soon_threadsafe(self.broadcaster.end_streams)
        super().handle_exit(sig, frame)


def proxy_trust(settings: Settings) -> dict[str, Any]:
    """X-Forwarded-For is believed from TRUSTED_PROXIES only (uvicorn's default believes any local
    peer, so anyone on the machine could be anyone): otherwise the client is the TCP peer."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


def run_api(settings: Settings, demo: bool, on_exit: Callable[[], None] | None = None) -> None:
    """The API in this process, or API_PROCESSES processes of cli.asgi:app sharing the port."""
    if demo:
        asyncio.run(_load_demo(settings))
    print(f"API docs: http://{settings.host}:{settings.port}/schema/swagger", flush=True)
    if settings.dev_pages:
        print(
            f"developer pages ON: http://{settings.host}:{settings.port}/dev/outbox (every SMS, full "
            f"numbers) and /dev/ivr (the phone menu as any caller), for trying the service only",
            flush=True,
        )
    if settings.api_processes == 1:
        asyncio.run(_serve_api(settings, on_exit))
        return
    if settings.redis_url is not None:
        os.environ["REDIS_URL"] = settings.redis_url
    os.environ["DEV_PAGES"] = "1" if settings.dev_pages else "0"
    uvicorn.run(
        "cli.asgi:app", factory=True, workers=settings.api_processes, host=settings.host, port=settings.port,
        log_level="info", access_log=False, log_config=None, **proxy_trust(settings),
    )  # fmt: skip


def port_problem(host: str, port: int) -> str | None:
    """Why the API could not listen on host:port, before anything else starts or is announced."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror} (another service on this port? set PORT)"
    return None


def serve(settings: Settings, demo: bool) -> None:
    problem = port_problem(settings.host, settings.port)
    if problem is not None:
        raise StartProblem(problem)
    embedded = None
    if not settings.external_store:
        embedded = EmbeddedRedis(_redis_dir(settings), appendfsync=settings.redis_appendfsync)
        settings = msgspec.structs.replace(settings, redis_url=embedded.start())
        print(f"embedded Redis at {settings.redis_url}, AOF in {_redis_dir(settings)}", flush=True)
    worker = KeptWorker({**os.environ, **({"REDIS_URL": settings.redis_url} if settings.redis_url else {})})
    # uvicorn re-raises the signal it stopped on once it has shut down; as KeyboardInterrupt it
    # reaches the cleanup below instead of killing the process with the children still running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run_api(settings, demo, worker.begin_stop)
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        if embedded is not None:
            embedded.stop()


class KeptWorker:
    """The worker process of `serve`, started again whenever it dies (a crash, the OOM killer):
    its running jobs are taken up again after JOB_LEASE by the new one."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.stopping = threading.Event()
        self.process = self._start()
        self.restarts = 0
        self._watcher = threading.Thread(target=self._watch, name="worker-keeper", daemon=True)
        self._watcher.start()

    def _start(self) -> subprocess.Popen[bytes]:
        # Its own session: Ctrl-C at the terminal reaches `serve`, which stops the worker itself.
        return subprocess.Popen(
            [sys.executable, "-m", "workers"],
            env=self.env,
            preexec_fn=die_with_parent,
            start_new_session=True,
        )

    def _watch(self) -> None:
        wait, started = 0.5, time.monotonic()
        while not self.stopping.wait(0.2):
            code = self.process.poll()
            if code is None:
                continue
            if self.stopping.is_set():
                return
            if time.monotonic() - started > 60:
                wait = 0.5
            print(
                f"worker exited with code {code}; starting it again in {wait:g} s",
                file=sys.stderr,
                flush=True,
            )
            if self.stopping.wait(wait):
                return
            self.process, started = self._start(), time.monotonic()
            self.restarts += 1
            # A worker that keeps dying at once is restarted less and less often (at most every 30 s).
            wait = min(wait * 2, 30.0)

    def begin_stop(self) -> None:
        """Not started again, and asked to stop; `stop` waits for it."""
        self.stopping.set()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        self.begin_stop()
        self._watcher.join(5)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def create_key(settings: Settings, args: argparse.Namespace) -> None:
    roles = frozenset(Role(r.strip()) for r in args.roles.split(","))
    async with _connected(settings) as redis:
        key, secret = await ApiKeyStore(redis).create(
            name=args.name, centre=args.centre, region=args.region, roles=roles, now=clock_in(settings.zone)()
        )
    print(f"key id:  {key.key_id}\ncentre:  {key.centre}\nregion:  {key.region}")
    print(f"roles:   {', '.join(sorted(r.value for r in key.roles))}")
    print(f"secret:  {secret}\n(shown once; only its hash is stored)")


async def list_keys(settings: Settings) -> None:
    async with _connected(settings) as redis:
        for key in await ApiKeyStore(redis).all():
            state = "revoked" if key.revoked else "active"
            roles = ",".join(sorted(r.value for r in key.roles))
            print(f"{key.key_id}  {key.centre:<20} {key.region:<8} {roles:<30} {state}  {key.name}")


async def revoke_key(settings: Settings, key_id: str) -> int:
    async with _connected(settings) as redis:
        if await ApiKeyStore(redis).revoke(key_id):
            print(f"revoked {key_id}")
            return 0
    print(f"no key {key_id}", file=sys.stderr)
    return 1


# How many rejected rows a summary names; the rest are counted.
SHOWN_PROBLEMS = 5


async def import_file(settings: Settings, path: str, region: str | None) -> int:
    try:
        # A command-line batch job: reading the file as it imports is what we want here.
        binary = open(path, "rb")  # noqa: ASYNC230, SIM115
    except OSError as exc:
        print(f"{path}: cannot read it ({exc.strerror})", file=sys.stderr)
        return 2
    with binary:
        try:
            encoding = file_encoding(binary.read(ENCODING_SAMPLE))
        except FileProblem as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 2
        binary.seek(0)
        size = os.fstat(binary.fileno()).st_size
        lines = io.TextIOWrapper(binary, encoding=encoding, newline="")
        with ImportProgress(size, binary.tell) as progress, ProcessPoolExecutor() as pool:
            try:
                async with _connected(settings) as redis:
                    report = await import_customers(
                        redis, lines, region, executor=pool, progress=progress.update
                    )
            except FileProblem as exc:
                print(f"{path}: {exc}", file=sys.stderr)
                return 2
            except UnicodeDecodeError:
                print(
                    f"{path}: the file changes encoding part-way ({encoding} at first): {CONVERT_HINT}",
                    file=sys.stderr,
                )
                return 2
    stored = report.inserted + report.updated + report.unchanged
    print(
        f"{path}: {stored} rows in ({report.inserted} new, {report.updated} updated, "
        f"{report.unchanged} unchanged), {report.rejected} rejected"
    )
    for problem in report.problems[:SHOWN_PROBLEMS]:
        print(f"{path}:{problem.line}: {problem.reason}", file=sys.stderr)
    if report.rejected > SHOWN_PROBLEMS:
        print(f"... and {report.rejected - SHOWN_PROBLEMS} more rejected rows", file=sys.stderr)
    # Nothing went in although there were rows: the file is wrong as a whole (another region's
    # file, a wrong column order); a script calling this must notice.
    return 1 if report.rejected and not stored else 0


class ImportProgress:
    """A progress bar on a terminal; elsewhere (a log, CI) a plain line every few seconds."""

    EVERY = 5.0

    def __init__(self, size: int, position: Callable[[], int]) -> None:
        self.size = size
        self.position = position
        self.bar: tqdm[None] | None = None
        self.last = time.monotonic()

    def __enter__(self) -> "ImportProgress":
        if sys.stderr.isatty():
            self.bar = tqdm(total=self.size, unit="B", unit_scale=True, desc="importing", file=sys.stderr)
        return self

    def update(self, report: ImportReport) -> None:
        done = min(self.position(), self.size)
        rows = report.inserted + report.updated + report.unchanged + report.rejected
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix(rows=rows, rejected=report.rejected)
        elif time.monotonic() - self.last >= self.EVERY:
            self.last = time.monotonic()
            share = done / self.size if self.size else 1.0
            print(
                f"imported {rows:,} rows ({share:.0%} of {self.size / 1e6:.1f} MB)",
                file=sys.stderr,
                flush=True,
            )

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.close()


async def remove_customers(settings: Settings, accounts: list[str]) -> int:
    async with _connected(settings) as redis:
        removed = await CustomerStore(redis).remove(accounts)
    print(f"removed {removed} of {len(accounts)}")
    return 0


def _roles(text: str) -> str:
    try:
        for role in text.split(","):
            Role(role.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"roles are a comma-separated subset of {', '.join(r.value for r in Role)}"
        ) from None
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="outage-notice", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "serve", help="run the API and a worker (embedded Redis when REDIS_URL is unset)"
    )
    run.add_argument("--demo", action="store_true", help="load demo keys and outages (once)")
    commands.add_parser("worker", help="run an arq worker against REDIS_URL")
    commands.add_parser("api", help="run the API alone against REDIS_URL (for several API processes)")
    keys = commands.add_parser("keys", help="API keys of dispatch centres").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--name", required=True, help="who uses the key, e.g. 'Pudong reviewer Li'")
    create.add_argument("--centre", required=True, help="dispatch centre id, e.g. pudong-dispatch")
    create.add_argument("--region", required=True, help="region code the key may act on, e.g. 310115")
    create.add_argument(
        "--roles", required=True, type=_roles, help="comma-separated: submitter,reviewer,emergency,agent"
    )
    keys.add_parser("list", help="list keys (never their secrets)")
    customers = commands.add_parser("customers", help="the customer registry").add_subparsers(
        dest="customers_command", required=True
    )
    load = customers.add_parser("import", help="upsert customers from a CSV file (UTF-8, header row)")
    load.add_argument("file")
    load.add_argument("--region", help="refuse rows of other regions")
    remove = customers.add_parser("remove", help="remove customers by account number")
    remove.add_argument("accounts", nargs="+")
    generate = customers.add_parser(
        "generate", help="write a synthetic customer file (for demos and benchmarks)"
    )
    generate.add_argument("--count", type=int, default=30_000)
    generate.add_argument("--region", default="310115")
    revoke = keys.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("serve", "worker", "api"):
        configure_logging()
    try:
        settings = settings_from_env()
    except SettingsError as exc:
        print(f"settings: {exc}", file=sys.stderr)
        return 2
    try:
        return _run(args, settings)
    except (SettingsError, StartProblem, EmbeddedRedisError) as exc:
        print(
            exc if isinstance(exc, StartProblem | EmbeddedRedisError) else f"settings: {exc}", file=sys.stderr
        )
        return 2


class StartProblem(RuntimeError):
    """The service cannot start (its port is taken): said in one line, before any URL is printed."""


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "api":
        if not settings.external_store:
            print("settings: the api command needs REDIS_URL or REDIS_SENTINELS", file=sys.stderr)
            return 2
        problem = port_problem(settings.host, settings.port)
        if problem is not None:
            raise StartProblem(problem)
        run_api(settings, demo=False)
        return 0
    if args.command == "serve":
        demo = args.demo or settings.demo_data
        serve(settings.with_dev_pages() if demo else settings, demo)
        return 0
    if args.command == "worker":
        if not settings.external_store:
            print(
                "settings: the worker command needs REDIS_URL or REDIS_SENTINELS (serve starts its own worker)",
                file=sys.stderr,
            )
            return 2
        from workers.__main__ import main as worker_main

        worker_main()
        return 0
    if args.command == "customers":
        if args.customers_command == "import":
            return asyncio.run(import_file(settings, args.file, args.region))
        if args.customers_command == "remove":
            return asyncio.run(remove_customers(settings, args.accounts))
        sys.stdout.writelines(synthetic_customers(args.count, region=args.region))
        return 0
    if args.keys_command == "create":
        asyncio.run(create_key(settings, args))
        return 0
    if args.keys_command == "list":
        asyncio.run(list_keys(settings))
        return 0
    return asyncio.run(revoke_key(settings, args.key_id))


if __name__ == "__main__":
    sys.exit(main())
