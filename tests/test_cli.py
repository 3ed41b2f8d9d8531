"""The command line as an operator meets it: plain one-line errors, never a traceback, exit codes
that scripts can trust, files as Excel on Chinese Windows saves them."""

import os
from pathlib import Path

import pytest

from store.embedded import EmbeddedRedis
from tests.customers import HEADER, phone, row
from tests.processes import run_cli


@pytest.fixture
def env(redis_server: EmbeddedRedis, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_server.url, "DATA_DIR": str(tmp_path)}


@pytest.mark.parametrize(
    ("args", "extra_env", "says"),
    [
        (("customers", "import", "/nonexistent/customers.csv"), {}, "cannot read it"),
        (("customers", "import", "/"), {}, "cannot read it"),
        (("worker",), {"REDIS_URL": ""}, "needs REDIS_URL"),
        (("keys", "list"), {"PORT": "eighty"}, "PORT='eighty'"),
        (("serve",), {"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
    ],
)
def test_ordinary_mistakes_get_one_line_and_no_traceback(
    env: dict[str, str], args: tuple[str, ...], extra_env: dict[str, str], says: str
) -> None:
    done = run_cli(*args, env={**env, **extra_env})
    assert done.returncode == 2, done
    assert says in done.stderr and "Traceback" not in done.stderr + done.stdout, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_gbk_file_from_excel_imports_and_a_file_of_rejects_fails(
    env: dict[str, str], tmp_path: Path
) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(
        (HEADER.rstrip("\n") + ",address\n" + row("G1", phone(1)).rstrip("\n") + ",张江路292号\n").encode(
            "gbk"
        )
    )
    done = run_cli("customers", "import", str(gbk), env=env)
    assert done.returncode == 0, done.stderr
    assert "1 rows in (1 new" in done.stdout
    with_bom = tmp_path / "bom.csv"
    with_bom.write_bytes("\ufeff".encode() + (HEADER + row("U1", phone(2))).encode())
    assert run_cli("customers", "import", str(with_bom), env=env).returncode == 0
    neither = tmp_path / "latin.csv"
    neither.write_bytes(HEADER.encode() + b"\xff\xfe\xfd,\x80\x81\n")
    refused = run_cli("customers", "import", str(neither), env=env)
    assert refused.returncode == 2 and "iconv" in refused.stderr
    rejects = tmp_path / "rejects.csv"
    rejects.write_text(HEADER + "".join(row(f"R{n}", "12345") for n in range(8)))
    failed = run_cli("customers", "import", str(rejects), env=env)
    assert failed.returncode == 1
    assert "0 rows in" in failed.stdout and "8 rejected" in failed.stdout
    reasons = failed.stderr.strip().splitlines()
    assert len(reasons) == 6 and reasons[-1] == "... and 3 more rejected rows", reasons
