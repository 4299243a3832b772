"""The one-file example plugin from docs/writing-a-plugin.md gets `run` and `eval` for free."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.commands.test_cli import srpipe
from tests.conftest import make_distribution


@pytest.fixture
def installed_example(tmp_path: Path, example_plugin_dir: Path) -> Path:
    source = (example_plugin_dir / "srpipe_sharpness.py").read_text()
    return make_distribution(
        tmp_path / "site",
        "srpipe-sharpness",
        {"srpipe_sharpness": source},
        {"sharpness": "srpipe_sharpness"},
    )


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Three small textured images (edges at several frequencies)."""
    import cv2

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        image = np.zeros((48, 64, 3), np.uint8)
        for _ in range(6):
            x, y = rng.integers(0, 56), rng.integers(0, 40)
            colour = tuple(int(c) for c in rng.integers(60, 255, 3))
            cv2.rectangle(image, (int(x), int(y)), (int(x) + 8 + i, int(y) + 6), colour, -1)
        cv2.imwrite(str(folder / f"p{i}.png"), image[:, :, ::-1])
    return folder


def test_listed_as_entry_point(installed_example: Path) -> None:
    result = srpipe("plugins", pythonpath=installed_example)
    line = next(x for x in result.stdout.splitlines() if x.startswith("sharpness"))
    assert "entry point (srpipe-sharpness)" in line
    assert "register_tasks" in line


def test_run_for_free(installed_example: Path, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = srpipe(
        "run",
        "sharpness",
        "--sr",
        "bicubic",
        "--scale",
        "2",
        str(photos),
        "-o",
        str(out),
        "--json",
        pythonpath=installed_example,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["frames"] == 3
    records = json.loads((out / "records.json").read_text())
    assert len(records) == 3 and all(r["edge_pixels"] > 0 for r in records)
    assert sorted(p.name for p in (out / "annotated").iterdir()) == ["p0.png", "p1.png", "p2.png"]


def test_eval_for_free(installed_example: Path, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    result = srpipe(
        "eval",
        "sharpness",
        "--data",
        str(photos),
        "--sr",
        "none",
        "--compare",
        "bicubic,nearest",
        "--scale",
        "2",
        "--bootstrap",
        "50",
        "-o",
        str(out),
        pythonpath=installed_example,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    text = json.dumps(report)
    for variant in ("hr", "bicubic", "nearest"):
        assert f'"{variant}"' in text
    assert (out / "report.html").exists() and (out / "report.md").exists()


def test_eval_with_dash_p_without_installing(
    example_plugin_dir: Path, photos: Path, tmp_path: Path
) -> None:
    """`srpipe -p FILE.py eval TASK`: a one-file task needs no packaging to be tried."""
    out = tmp_path / "eval-p"
    result = srpipe(
        "-p",
        str(example_plugin_dir / "srpipe_sharpness.py"),
        "eval",
        "sharpness",
        "--data",
        str(photos),
        "--sr",
        "none",
        "--compare",
        "bicubic",
        "--scale",
        "2",
        "--bootstrap",
        "20",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["task"]["name"] == "sharpness"
    assert report["dataset"]["items"] == 3
    assert {v["name"] for v in report["variants"]} >= {"hr", "bicubic"}


def test_its_own_contract_test(example_plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/srpipe_sharpness/test_srpipe_sharpness.py (srpipe.testing) passes, in-process."""
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(example_plugin_dir))
    try:
        module = importlib.import_module("test_srpipe_sharpness")
        module.test_contract()
        module.test_run_side()
    finally:
        for name in ("srpipe_sharpness", "test_srpipe_sharpness"):
            sys.modules.pop(name, None)
