"""LFW pairs.txt parsing, identity-folder pairs, and HR face items built with real MTCNN + dlib."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from srpipe_faces import datasets
from srpipe_faces.datasets import (
    BuildOptions,
    IdentityFolderReader,
    LfwPairsReader,
    build_face_dataset,
    folder_pairs,
    parse_lfw_pairs,
)

from srpipe.errors import SrpipeError


def _tiny_lfw(root: Path, pairs: str, names: dict[str, int]) -> Path:
    """LFW layout: root/pairs.txt and root/lfw/<name>/<name>_NNNN.jpg (grey placeholders)."""
    from srpipe.image.io import write_image

    for name, count in names.items():
        for i in range(1, count + 1):
            write_image(root / "lfw" / name / f"{name}_{i:04d}.jpg", np.zeros((8, 8, 3), np.uint8))
    (root / "pairs.txt").write_text(pairs)
    return root


PAIRS = """2\t1
Ann_Lee\t1\t2
Bob_Ray\t1\tCid_Moe\t1
Cid_Moe\t1\t2
Ann_Lee\t2\tBob_Ray\t1
"""


def test_parse_lfw_pairs_folds_labels_and_paths(tmp_path: Path) -> None:
    root = _tiny_lfw(tmp_path, PAIRS, {"Ann_Lee": 2, "Bob_Ray": 1, "Cid_Moe": 2})
    pairs = parse_lfw_pairs(root / "pairs.txt")
    assert [p.fold for p in pairs] == [0, 0, 1, 1]
    assert [p.same for p in pairs] == [True, False, True, False]
    first = pairs[0]
    assert first.probe == (root / "lfw" / "Ann_Lee" / "Ann_Lee_0001.jpg").resolve()
    assert first.gallery.name == "Ann_Lee_0002.jpg"
    assert (pairs[3].probe_identity, pairs[3].gallery_identity) == ("Ann_Lee", "Bob_Ray")
    assert LfwPairsReader().can_read(root) and not IdentityFolderReader().can_read(root)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2 1\nAnn_Lee 1 2\n", "header promises"),
        ("1 1\nAnn_Lee 1\nBob_Ray 1 Cid_Moe 1\n", "neither"),
        ("ten folds\n", "header"),
    ],
)
def test_bad_pairs_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    root = _tiny_lfw(tmp_path, text, {"Ann_Lee": 2, "Bob_Ray": 1, "Cid_Moe": 1})
    with pytest.raises(SrpipeError, match=message):
        parse_lfw_pairs(root / "pairs.txt")


def test_missing_lfw_images_are_reported(tmp_path: Path) -> None:
    (tmp_path / "pairs.txt").write_text("1 1\nAnn_Lee 1 2\nBob_Ray 1 Cid_Moe 1\n")
    with pytest.raises(SrpipeError, match=r"Ann_Lee/Ann_Lee_0001\.jpg"):
        parse_lfw_pairs(tmp_path / "pairs.txt")


def test_folder_pairs_are_balanced_seeded_and_in_ten_folds(people: Path) -> None:
    pairs = folder_pairs(people)
    genuine = [p for p in pairs if p.same]
    assert len(genuine) == 1  # only the astronaut has two images
    assert len(pairs) - len(genuine) == 3  # max(genuine, identities) impostors
    assert {p.fold for p in pairs} <= set(range(10))
    assert pairs == folder_pairs(people)  # deterministic
    assert IdentityFolderReader().can_read(people)


def test_folder_pairs_need_two_identities(tmp_path: Path) -> None:
    (tmp_path / "solo").mkdir()
    (tmp_path / "solo" / "a.png").write_bytes(b"")
    with pytest.raises(SrpipeError, match="at least 2 identity folders"):
        folder_pairs(tmp_path)


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
        assert item.image.shape[0] == item.image.shape[1] and item.image.shape[0] % 4 == 0
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
        task.predict([item.image])[0], gallery[item.target.probe_key], atol=1e-5
    )


def test_interleave_makes_every_prefix_balanced_across_folds(tmp_path: Path) -> None:
    fold = "Ann_Lee 1 2\nCid_Moe 1 2\nBob_Ray 1 Cid_Moe 1\nAnn_Lee 2 Bob_Ray 1\n"
    root = _tiny_lfw(tmp_path, "2 2\n" + fold + fold, {"Ann_Lee": 2, "Bob_Ray": 1, "Cid_Moe": 2})
    pairs = datasets.interleave(parse_lfw_pairs(root / "pairs.txt"))
    assert [(p.fold, p.same) for p in pairs] == [(0, True), (0, False), (1, True), (1, False)] * 2
    assert pairs[0].probe_identity == "Ann_Lee" and pairs[4].probe_identity == "Cid_Moe"


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
    assert np.array_equal(again.chip, first.chip) and np.allclose(again.embedding, first.embedding)
    assert again.box == first.box and again.face_width == pytest.approx(first.face_width)
    faceless = people / "nobody" / "nobody_0001.png"
    missing = datasets.prepare_image(faceless, detector, dlib_embedder, None, 4)
    cached = datasets.prepare_image(faceless, NoDetector(), dlib_embedder, None, 4)
    assert missing.embedding is None and cached.embedding is None
    assert cached.reason == missing.reason != ""
