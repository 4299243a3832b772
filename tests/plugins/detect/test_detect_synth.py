"""The synthetic tiny-object benchmark: deterministic, exact boxes, split by source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from srpipe_detect.synth import CLASS_NAMES, SynthConfig, generate, render_tile

from srpipe.data import sources as registry
from srpipe.errors import SrpipeError


def test_layout_and_split_by_source(tiny_synth: Path) -> None:
    assert (tiny_synth / "data.yaml").is_file()
    manifest = json.loads((tiny_synth / "manifest.json").read_text())
    assert manifest["classes"] == list(CLASS_NAMES)
    sources = {split: set() for split in ("train", "val", "test")}
    for key, info in manifest["images"].items():
        split = key.split("/")[0]
        sources[split].add(info["source"])
        assert (tiny_synth / "images" / key).is_file()
    assert all(sources.values())
    # every background plays the role of its split in the registry, so the splits are disjoint
    assert all(registry.get(n).role == registry.TRAIN for n in sources["train"])
    assert all(registry.get(n).role == registry.VALIDATION for n in sources["val"])
    assert all("detect" in registry.get(n).tasks for n in sources["test"])


def test_labels_match_manifest_boxes(tiny_synth: Path) -> None:
    manifest = json.loads((tiny_synth / "manifest.json").read_text())
    size = manifest["config"]["size"]
    for key, info in manifest["images"].items():
        split, name = key.split("/")
        label = tiny_synth / "labels" / split / name.replace(".png", ".txt")
        rows = [line.split() for line in label.read_text().splitlines()]
        assert len(rows) == len(info["boxes"]) >= 1
        for row, (cls, x1, y1, x2, y2) in zip(rows, info["boxes"]):
            assert int(row[0]) == cls
            cx, cy, w, h = (float(v) * size for v in row[1:])
            assert cx - w / 2 == pytest.approx(x1, abs=1e-3)
            assert cy + h / 2 == pytest.approx(y2, abs=1e-3)
            assert 6 <= x2 - x1 <= 24 and x2 - x1 == y2 - y1


def test_deterministic(tmp_path: Path) -> None:
    cfg = SynthConfig(train=1, val=1, size=64, min_objects=1, max_objects=2, seed=3)
    a, b = generate(tmp_path / "a", cfg), generate(tmp_path / "b", cfg)
    for rel in ("images/train/train_0000.png", "labels/val/val_0000.txt"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes()


def test_classes_differ_only_inside() -> None:
    tiles = [render_tile(c, 24, np.random.default_rng(0)) for c in range(len(CLASS_NAMES))]
    # same colours (same rng state) and the same dark outline ...
    for t in tiles[1:]:
        assert np.array_equal(t[0], tiles[0][0]) and np.array_equal(t[:, 0], tiles[0][:, 0])
    # ... but different interiors
    interiors = [t[2:-2, 2:-2].astype(int) for t in tiles]
    for i in range(len(interiors)):
        for j in range(i + 1, len(interiors)):
            assert np.abs(interiors[i] - interiors[j]).max() > 40


def test_cli_command_rejects_tiny_size(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from srpipe_detect.synth import synth_command

    result = CliRunner().invoke(synth_command(), ["--out", str(tmp_path / "x"), "--size", "32"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SrpipeError)
