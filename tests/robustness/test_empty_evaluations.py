"""Evaluations that would measure nothing fail in one line instead of printing a verdict."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from srpipe.image.io import write_image

from .conftest import assert_one_line_error


def _yolo_set(root, labels_folder="labels", boxes=True):
    (root / "images" / "val").mkdir(parents=True)
    (root / labels_folder / "val").mkdir(parents=True)
    for i in range(3):
        write_image(root / "images" / "val" / f"im{i}.png", np.full((64, 64, 3), 60, np.uint8))
        line = "0 0.5 0.5 0.2 0.2\n" if boxes else ""
        (root / labels_folder / "val" / f"im{i}.txt").write_text(line)
    (root / "data.yaml").write_text(
        yaml.safe_dump({"path": str(root), "val": "images/val", "names": ["thing"]})
    )
    return root


def _eval_detect(srpipe_cli, data, out):
    return srpipe_cli(
        "eval", "detect", "--data", data, "--sr", "none", "--compare", "bicubic",
        "--scale", "2", "--detector", "yolov8n.yaml", "--device", "cpu", "-o", out,
    )  # fmt: skip


def test_misnamed_labels_folder_fails(tmp_path, srpipe_cli):
    data = _yolo_set(tmp_path / "set", labels_folder="label")
    outcome = _eval_detect(srpipe_cli, data / "data.yaml", tmp_path / "out")
    assert_one_line_error(outcome, "no label file for any of the 3", "labels")
    assert not (tmp_path / "out" / "report.json").exists()


def test_labels_without_boxes_fail(tmp_path, srpipe_cli):
    data = _yolo_set(tmp_path / "set", boxes=False)
    outcome = _eval_detect(srpipe_cli, data / "data.yaml", tmp_path / "out")
    assert_one_line_error(outcome, "hold no boxes")


def test_some_missing_labels_are_listed(tmp_path, capsys):
    from srpipe_detect.datasets import YoloReader

    data = _yolo_set(tmp_path / "set")
    (data / "labels" / "val" / "im1.txt").unlink()
    dataset = YoloReader().load(data / "data.yaml")
    assert len(dataset.items) == 3 and len(dataset.meta["unlabelled"]) == 1
    assert "1 of 3 images have no label file" in capsys.readouterr().err


def test_faces_pairs_pointing_at_missing_files_fail(tmp_path):
    from srpipe_faces.datasets import BuildOptions, build_face_dataset
    from srpipe_faces.pairs import PairSpec

    from srpipe.errors import SrpipeError

    gone = tmp_path / "gone"
    pairs = [PairSpec(gone / "a.jpg", "a", gone / "b.jpg", "b", 0)]
    with pytest.raises(SrpipeError, match="none of the 2 images its pairs name exists"):
        build_face_dataset(pairs, name="t", description="", options=BuildOptions())


def test_faces_set_with_no_scorable_pair_fails(tmp_path, srpipe_cli):
    pytest.importorskip("dlib")
    root = tmp_path / "lfw"
    (root / "Ann_A").mkdir(parents=True)  # one faceless image; the others are missing
    write_image(root / "Ann_A" / "Ann_A_0001.jpg", np.full((80, 80, 3), 128, np.uint8))
    (root / "pairs.txt").write_text("1 1\nAnn_A 1 2\nAnn_A 1 Bob_B 1\n")
    outcome = srpipe_cli(
        "eval", "faces", "--data", root, "--sr", "none", "--compare", "bicubic",
        "--scale", "2", "--device", "cpu", "--embedder", "dlib", "-o", tmp_path / "out",
    )  # fmt: skip
    assert_one_line_error(outcome, "no pair can be scored")
    assert "2 of 3 images named by pairs are missing" in outcome.err
    assert "Ann_A_0002.jpg" in outcome.err and "Bob_B_0001.jpg" in outcome.err
    assert not (tmp_path / "out" / "report.json").exists()
