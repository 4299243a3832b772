"""report.json of small seeded `srpipe eval sr` and `srpipe eval detect` runs, pinned.

The fixtures under tests/golden/ were written by the code before the issue-12 refactor;
these tests prove a restructuring leaves every number (values, CIs, deltas, per-item
scores, verdicts, notes, settings) as it was. Timings and library versions are left out.
Issue 13 regenerated them (interval method/k fields, jackknife t intervals at these small k,
power, no-power verdicts); every point estimate was checked equal to the previous fixtures.
Issue 25 moved the per-item rows out of report.json into its items file: they are pinned in
``<name>_items.json`` (what report.json's ``item_scores`` held, read back through
``read_item_scores``), and the file's sha256 is left out of the comparison (its bytes follow
the last digits of every score, which another BLAS may move).
After an *intended* change of numbers, regenerate with ``SRPIPE_UPDATE_GOLDEN=1 pytest
tests/test_golden_reports.py`` and say why in the commit.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.golden.make_inputs import detect_folder, sr_folder

GOLDEN = Path(__file__).parent / "golden"


def _normalise(value: Any, tmp: str) -> Any:
    if isinstance(value, dict):
        return {
            k: _normalise(v, tmp)
            for k, v in value.items()
            if k != "environment" and not k.startswith("seconds_")
        }
    if isinstance(value, list):
        return [_normalise(v, tmp) for v in value]
    if isinstance(value, str):
        return value.replace(tmp, "<tmp>")
    return value


def _assert_same(got: Any, want: Any, where: str = "report") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        assert sorted(got) == sorted(want), f"{where}: keys differ"
        for key in want:
            _assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: length differs"
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        # same code, same machine: equal; another BLAS may move the last digits
        assert isinstance(got, (int, float)), where
        assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9), f"{where}: {got} != {want}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def _eval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> dict[str, dict[str, Any]]:
    """The run's report.json and its per-item rows (``report`` and ``items``), normalised."""
    from srpipe.cli import cli
    from srpipe.report import read_item_scores

    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    # fp32 pinned: eval's default --precision auto runs bf16 where a CPU has it natively, and
    # these numbers must not depend on which CPU runs the suite
    result = CliRunner().invoke(
        cli, [*args, "--device", "cpu", "--precision", "fp32", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    report["items"].pop("sha256")
    return {
        "report": _normalise(report, str(tmp_path)),
        "items": _normalise(read_item_scores(out / "report.json"), str(tmp_path)),
    }


def _check(name: str, run: dict[str, dict[str, Any]]) -> None:
    for part, got in run.items():
        fixture = GOLDEN / f"{name}_{part}.json"
        if os.environ.get("SRPIPE_UPDATE_GOLDEN") == "1":
            fixture.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        _assert_same(got, json.loads(fixture.read_text()), part)


def test_eval_sr_report_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = sr_folder(tmp_path / "sr")
    report = _eval(
        tmp_path,
        monkeypatch,
        ["eval", "sr", "--data", str(data), "--sr", "edsr,rcan", "--compare", "bicubic,lr,nearest",
         "--scale", "4", "--bootstrap", "100", "--seed", "3"],
    )  # fmt: skip
    _check("sr", report)


def test_eval_detect_report_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the pinned report has the `sliced` variant, which is sahi's (an optional extra)
    pytest.importorskip("sahi", reason="sahi not installed: pip install 'srpipe[sahi]'")
    data = detect_folder(tmp_path / "det")
    report = _eval(
        tmp_path,
        monkeypatch,
        ["eval", "detect", "--data", str(data), "--sr", "edsr", "--compare", "bicubic",
         "--scale", "4", "--bootstrap", "50"],
    )  # fmt: skip
    _check("detect", report)
