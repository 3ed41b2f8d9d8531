"""wrk (Debian package `wrk`) against the running service, and one way to print what it measured."""

import re
import subprocess
import sys
from pathlib import Path

LUA = Path(__file__).parent / "lua"


class Result:
    def __init__(self, output: str) -> None:
        self.rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
        self.requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        self.errors = int(bad.group(1)) if bad else 0
        self.percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.MULTILINE))


def wrk(
    base: str, path: str, seconds: int, connections: int, script: str | None = None, *args: str
) -> Result:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(LUA / script)]
    command.append(base + path)
    if args:
        command += ["--", *args]
    return Result(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def line(name: str, result: Result, baseline: Result | None) -> str:
    """One route's figures; next to the baseline of the same run, its share and its p99."""
    compared = (
        f"  {result.rate / baseline.rate:5.2f}x of /health, whose p99 is {baseline.percentiles.get('99', '?')}"
        if baseline
        else ""
    )
    return (
        f"{name:<46} {result.rate:8.0f} req/s  p50 {result.percentiles.get('50', '?'):>8}  "
        f"p99 {result.percentiles.get('99', '?'):>8}  {result.requests:>6} requests, "
        f"{result.errors} errors{compared}"
    )


def api_key(env: dict[str, str], roles: str) -> str:
    """A key for region 310115 made with the CLI, as an operator would."""
    args = ["keys", "create", "--name", roles, "--centre", "bench", "--region", "310115", "--roles", roles]
    out = subprocess.run(
        [sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, check=True
    ).stdout
    return next(row.split()[1] for row in out.splitlines() if row.startswith("secret:"))
