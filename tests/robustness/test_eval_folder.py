"""`srpipe eval sr` on a folder with bad items: scores the rest, lists what it skipped."""

from __future__ import annotations

import json

import numpy as np

from srpipe.image.io import write_image

from .conftest import assert_one_line_error


def _args(folder, out):
    return ("eval", "sr", "--data", folder, "--sr", "none", "--compare", "bicubic",
            "--scale", "4", "--bootstrap", "20", "-o", out)  # fmt: skip


def test_bad_items_are_skipped_listed_and_counted(tmp_path, srpipe_cli):
    folder = tmp_path / "hr"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "c.png"):
        write_image(folder / name, rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    write_image(folder / "tiny.png", np.zeros((2, 3, 3), np.uint8))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "empty.jpg").write_bytes(b"")
    outcome = srpipe_cli(*_args(folder, tmp_path / "out"))
    assert outcome.code == 1 and "Traceback" not in outcome.err
    assert "skipped 3 of 5 images" in outcome.err
    assert "3x2 is too small to score at x4" in outcome.err  # the real size, not 0x0
    assert "broken.png" in outcome.err and "empty.jpg" in outcome.err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert len(report["dataset"]["meta"]["skipped"]) == 3
    assert "3 skipped" in report["dataset"]["description"]
    psnr = [r for r in report["results"] if r["metric"] == "psnr" and r["variant"] == "bicubic"]
    assert psnr and np.isfinite(psnr[0]["value"]["value"])


def test_a_folder_of_only_bad_items_fails(tmp_path, srpipe_cli):
    folder = tmp_path / "hr"
    folder.mkdir()
    write_image(folder / "tiny.png", np.zeros((2, 3, 3), np.uint8))
    outcome = srpipe_cli(*_args(folder, tmp_path / "out"))
    assert_one_line_error(outcome, "none of the 1 images")
    assert not (tmp_path / "out").exists()
