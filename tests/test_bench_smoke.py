"""The in-process benchmarks at a tiny size, so they never rot (their figures are not tested)."""

import pytest

from bench.channels import run as channels


async def test_channels_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    await channels(200)
    printed = capsys.readouterr().out
    assert "SMS only (baseline)" in printed and "of which SMS" in printed
