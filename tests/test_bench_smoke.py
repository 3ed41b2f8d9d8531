"""The in-process benchmarks at a tiny size, so they never rot (their figures are not tested)."""

import pytest

from bench.channels import run as channels


async def test_channels_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    await channels(200)
    printed = capsys.readouterr().out
    assert "SMS only (baseline)" in printed and "of which SMS" in printed


async def test_registry_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.registry import main as registry

    await registry(3_000)
    printed = capsys.readouterr().out
    assert "bytes per customer" in printed and "resolved in" in printed


async def test_replication_cost_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.replication_cost import main as replication_cost

    await replication_cost(50, 10)
    printed = capsys.readouterr().out
    assert "submissions" in printed and "ledger claims" in printed and "ratio" in printed
