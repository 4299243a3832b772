"""Listing verification pairs: LFW pairs.txt parsing, identity-folder pairs, their order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from srpipe_faces.pairs import (
    dataset_key,
    folder_pairs,
    identity_folders,
    interleave,
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


def test_folder_pairs_need_two_identities(tmp_path: Path) -> None:
    (tmp_path / "solo").mkdir()
    (tmp_path / "solo" / "a.png").write_bytes(b"")
    with pytest.raises(SrpipeError, match="at least 2 identity folders"):
        folder_pairs(tmp_path)


def test_interleave_makes_every_prefix_balanced_across_folds(tmp_path: Path) -> None:
    fold = "Ann_Lee 1 2\nCid_Moe 1 2\nBob_Ray 1 Cid_Moe 1\nAnn_Lee 2 Bob_Ray 1\n"
    root = _tiny_lfw(tmp_path, "2 2\n" + fold + fold, {"Ann_Lee": 2, "Bob_Ray": 1, "Cid_Moe": 2})
    pairs = interleave(parse_lfw_pairs(root / "pairs.txt"))
    assert [(p.fold, p.same) for p in pairs] == [(0, True), (0, False), (1, True), (1, False)] * 2
    assert pairs[0].probe_identity == "Ann_Lee" and pairs[4].probe_identity == "Cid_Moe"


def test_identity_folders_list_images_and_skip_empty_or_hidden_folders(tmp_path: Path) -> None:
    for rel in ("b/2.png", "b/1.JPG", "b/notes.txt", "a/x.jpg", ".hidden/y.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    (tmp_path / "empty").mkdir()
    assert identity_folders(tmp_path) == {
        "a": [tmp_path / "a" / "x.jpg"],
        "b": [tmp_path / "b" / "1.JPG", tmp_path / "b" / "2.png"],
    }


def test_dataset_key_names_the_pair_list(tmp_path: Path) -> None:
    root = _tiny_lfw(tmp_path, PAIRS, {"Ann_Lee": 2, "Bob_Ray": 1, "Cid_Moe": 2})
    pairs = parse_lfw_pairs(root / "pairs.txt")
    assert dataset_key(pairs) == dataset_key(list(pairs)) != dataset_key(pairs[:2])
    assert len(dataset_key(pairs)) == 10
