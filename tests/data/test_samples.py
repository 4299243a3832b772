"""The offline SR corpus: splits from the source registry, deterministic, checksummed."""

from __future__ import annotations

import json

import pytest

from srpipe.data import samples, sources
from srpipe.data.samples import build_samples, corpus_sources
from srpipe.errors import SrpipeError


def test_corpus_splits_follow_the_registry_roles():
    train = {s.name for s in corpus_sources("train")}
    val = {s.name for s in corpus_sources("val")}
    test = {s.name for s in corpus_sources("test")}
    assert train and val and test
    assert not (train & val or train & test or val & test)
    assert all(sources.get(n).role == sources.TRAIN for n in train)
    assert all(sources.get(n).role == sources.VALIDATION for n in val)
    assert all("sr" in sources.get(n).tasks for n in test)
    with pytest.raises(SrpipeError, match="unknown samples split"):
        corpus_sources("holdout")


SMALL = (
    sources.Source("camera", "skimage", ("data/camera.png",), sources.TRAIN),
    sources.Source("coins", "skimage", ("data/coins.png",), sources.VALIDATION),
    sources.Source("coffee", "skimage", ("data/coffee.png",), sources.TEST, tasks=("sr",)),
)


def test_build_is_split_by_source_and_deterministic(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "registered", lambda: SMALL)  # as if plugins declared these
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
    assert by_split == {"train": {"camera"}, "val": {"coins"}, "test": {"coffee"}}
    grey = next(e for e in m1["images"] if e["source"] == "camera")
    assert (grey["width"], grey["height"]) == (512, 512)
    assert samples.split_files("val", first) == [
        first / e["file"] for e in m1["images"] if e["split"] == "val"
    ]
