"""HR face items built with real MTCNN + dlib, the readers that make them, and their cache."""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np
import pytest
from srpipe_faces import datasets
from srpipe_faces.datasets import (
    BuildOptions,
    IdentityFolderReader,
    LfwPairsReader,
    build_face_dataset,
)
from srpipe_faces.pairs import folder_pairs

from srpipe.errors import SrpipeError


def test_each_reader_claims_its_own_layout(tmp_path: Path, people: Path) -> None:
    (tmp_path / "pairs.txt").write_text("1 1\nAnn_Lee 1 2\nBob_Ray 1 Cid_Moe 1\n")
    assert LfwPairsReader().can_read(tmp_path) and not IdentityFolderReader().can_read(tmp_path)
    assert IdentityFolderReader().can_read(people) and not LfwPairsReader().can_read(people)


def test_items_are_hr_chips_and_a_faceless_pair_stays_counted(
    people: Path, detector, dlib_embedder
) -> None:
    pairs = folder_pairs(people)
    dataset = build_face_dataset(
        pairs,
        name="people",
        description="test set",
        options=BuildOptions(scales=(4,)),
        detector=detector,
        embedder=dlib_embedder,
    )
    assert len(dataset) == len(pairs)
    faceless = [it for it in dataset.items if "nobody" in (it.meta["probe"] + it.meta["gallery"])]
    assert faceless and all(not it.target.scorable for it in faceless)
    assert all("no face" in it.target.reason or "MTCNN" in it.target.reason for it in faceless)
    assert len(dataset.meta["unscorable_pairs"]) == len(faceless)
    assert f"{len(faceless)} pair(s) unscorable" in dataset.description
    for item in dataset.items:
        assert item.image is None and item.size[0] == item.size[1] and item.size[0] % 4 == 0
        assert item.group == item.target.probe_identity
    scorable = [it for it in dataset.items if it.target.scorable]
    # chips keep the HR resolution: the astronaut's 43 px face stays about 43 px wide
    widths = [it.meta["face_width_hr_chip"] for it in scorable]
    assert all(30 < w < 120 for w in widths)
    # every identity with a face is in the rank-1 gallery, the faceless one is not
    assert set(dataset.items[0].target.gallery) == {"astronaut", "grace_hopper"}


def test_face_width_sizes_chips_for_the_scale(people: Path, detector, dlib_embedder) -> None:
    pairs = [p for p in folder_pairs(people) if p.same]
    dataset = build_face_dataset(
        pairs,
        name="people",
        description="",
        options=BuildOptions(face_width=16, scales=(4,)),
        detector=detector,
        embedder=dlib_embedder,
    )
    width = dataset.items[0].meta["face_width_hr_chip"]
    assert width == pytest.approx(64, abs=2.5)  # 16 px in LR at x4, chip rounded to 4 px
    # the astronaut's face is 43 px in this HR: a 64 px face means an enlarged, interpolated HR
    assert dataset.meta["hr_chips_enlarged"] == 2 and "enlarged" in dataset.description
    with pytest.raises(SrpipeError, match="exactly one --scale"):
        BuildOptions(face_width=16, scales=(2, 4)).chip_multiple()


def test_readers_embed_with_the_task_s_own_models(
    people: Path, detector, dlib_embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each set-up task owns its detector and embedder, and a reader given the task finds
    and embeds the HR faces with exactly those (not with a process-wide copy)."""
    from srpipe_faces.task import FaceTask

    from srpipe.task import TaskContext

    options = {"embedder": "dlib", "embedder_weights": None, "min_face_size": 20}
    ctx = TaskContext("eval", device="cpu", scales=(2,), options={**options, "face_width": None})
    task, other = FaceTask(), FaceTask()
    task.setup(ctx)
    other.setup(ctx)
    assert task.embedder is not other.embedder and task.detector is not other.detector
    assert task.embedder is not dlib_embedder and task.detector is not detector

    calls: list[str] = []
    detect, embed = task.detector.detect, task.embedder.embed
    monkeypatch.setattr(task.detector, "detect", lambda im: calls.append("detect") or detect(im))
    monkeypatch.setattr(task.embedder, "embed", lambda ch: calls.append("embed") or embed(ch))
    # prepared HR faces are cached on disk across tests: make this read compute them
    monkeypatch.setattr(datasets.prepared_cache, "load", lambda key: None)
    dataset = IdentityFolderReader().read(people, task)
    images = {str(path) for p in folder_pairs(people) for path in (p.probe, p.gallery)}
    assert calls.count("detect") == len(images) and "embed" in calls
    # the probe chip handed to predict embeds to the gallery's vector for that image
    item = next(it for it in dataset.items if it.target.scorable)
    gallery = dict(item.target.gallery[item.target.probe_identity])
    np.testing.assert_allclose(
        task.predict([item.hr_image()])[0], gallery[item.target.probe_key], atol=1e-5
    )


def test_prepared_faces_are_cached_on_disk(
    people: Path, detector, dlib_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path / "cache"))
    image = people / "astronaut" / "astronaut_0001.png"
    first = datasets.prepare_image(image, detector, dlib_embedder, None, 4)
    assert list((tmp_path / "cache" / "faces" / "prepared").glob("*.npz"))

    class NoDetector:  # a cache hit must not detect again
        min_face_size, threshold = detector.min_face_size, detector.threshold

        def detect(self, image):
            raise AssertionError("detected again")

    again = datasets.prepare_image(image, NoDetector(), dlib_embedder, None, 4)
    assert again.geometry.values() == first.geometry.values() and again.side == first.side
    assert np.array_equal(
        datasets.chip_loader(image, again)(), datasets.chip_loader(image, first)()
    ) and np.allclose(again.embedding, first.embedding)
    assert again.box == first.box and again.face_width == pytest.approx(first.face_width)
    faceless = people / "nobody" / "nobody_0001.png"
    missing = datasets.prepare_image(faceless, detector, dlib_embedder, None, 4)
    cached = datasets.prepare_image(faceless, NoDetector(), dlib_embedder, None, 4)
    assert missing.embedding is None and cached.embedding is None
    assert cached.reason == missing.reason != ""


@pytest.mark.parametrize("cached", [False, True])
def test_items_hold_no_pixels_and_cut_the_aligned_chip_when_loaded(
    people: Path,
    detector,
    dlib_embedder,
    cached: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading keeps each chip's geometry, not its pixels; an item decodes its probe image
    only when loaded (after a trip through pickle, as to another rank), and cuts exactly
    the chip alignment made, whether the geometry was computed or read from the cache."""
    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path / "cache"))
    pairs = folder_pairs(people)
    build = functools.partial(
        build_face_dataset, pairs, name="people", description="", options=BuildOptions(),
        detector=detector, embedder=dlib_embedder,
    )  # fmt: skip
    dataset = build()
    if cached:
        dataset = build()
    read, decoded = datasets.read_rgb, []
    monkeypatch.setattr(datasets, "read_rgb", lambda path: decoded.append(path) or read(path))
    items = pickle.loads(pickle.dumps(dataset.items))
    assert all(it.image is None for it in items) and not decoded
    for item in items:
        chip = item.hr_image()
        probe = Path(item.meta["probe"])
        assert decoded[-1] == probe and chip.shape[:2] == item.size
        image = read(probe)
        faces = detector.detect(image)
        if not item.target.probe_ok:
            assert not faces  # the placeholder: the faceless image's centre
            continue
        (face,) = faces
        np.testing.assert_array_equal(chip, dlib_embedder.align(image, face, multiple=1).chip)
    assert len(decoded) == len(items)
