"""The example task meets srpipe's contract (run `pytest` in this folder)."""

from __future__ import annotations

from srpipe_sharpness import SharpnessTask

from srpipe.testing import check_task


def test_contract() -> None:
    done = check_task(SharpnessTask, options={"low": 50, "high": 150})
    assert "rescale" in done  # edges map back to HR size: the lr variant runs


def test_run_side() -> None:
    check_task(SharpnessTask, command="run")
