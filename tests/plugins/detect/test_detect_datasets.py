"""YOLO and COCO readers: correct boxes, one-line errors, unreadable images skipped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from srpipe_detect.datasets import CocoReader, YoloReader

from srpipe.errors import SrpipeError


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "ds"
    shutil.copytree(src, dst)
    # make data.yaml relative so the copy is self-contained
    text = (dst / "data.yaml").read_text().replace(f"path: {src.resolve()}", "path: .")
    (dst / "data.yaml").write_text(text)
    return dst


def test_yolo_reads_pixel_boxes_and_groups(tiny_synth: Path) -> None:
    reader = YoloReader()
    assert reader.can_read(tiny_synth) and reader.can_read(tiny_synth / "data.yaml")
    ds = reader.load(tiny_synth, split="val")
    manifest = json.loads((tiny_synth / "manifest.json").read_text())
    assert len(ds) == 2
    for item in ds.items:
        info = manifest["images"][item.id]
        expected = np.array([b[1:] for b in info["boxes"]], np.float32)
        np.testing.assert_allclose(item.target["boxes"], expected, atol=1e-3)
        assert list(item.target["classes"]) == [b[0] for b in info["boxes"]]
        assert item.group == info["source"]
        assert item.image is None and item.size == (96, 96)  # described, decoded when scored
        image = item.hr_image()
        assert image.shape == (96, 96, 3) and image.dtype == np.uint8
    assert ds.meta["names"][1] == "stripes"


def test_yolo_missing_split_path(tiny_synth: Path, tmp_path: Path) -> None:
    ds = _copy(tiny_synth, tmp_path)
    shutil.rmtree(ds / "images" / "val")
    with pytest.raises(SrpipeError, match="does not exist"):
        YoloReader().load(ds, split="val")
    with pytest.raises(SrpipeError, match="no 'holdout' split"):
        YoloReader().load(ds, split="holdout")


def test_yolo_label_class_out_of_range(tiny_synth: Path, tmp_path: Path) -> None:
    ds = _copy(tiny_synth, tmp_path)
    label = sorted((ds / "labels" / "val").glob("*.txt"))[0]
    label.write_text(label.read_text() + "7 0.5 0.5 0.1 0.1\n")
    with pytest.raises(SrpipeError, match=r"class 7 out of range 0-3") as info:
        YoloReader().load(ds, split="val")
    assert "\n" not in str(info.value)


def test_yolo_bad_yaml_and_coordinates(tiny_synth: Path, tmp_path: Path) -> None:
    ds = _copy(tiny_synth, tmp_path)
    label = sorted((ds / "labels" / "val").glob("*.txt"))[0]
    label.write_text("0 0.5 0.5 3.0 0.1\n")
    with pytest.raises(SrpipeError, match="outside the image"):
        YoloReader().load(ds, split="val")
    (ds / "data.yaml").write_text("names: [a, b\n")
    with pytest.raises(SrpipeError, match="not valid YAML"):
        YoloReader().load(ds)


def test_yolo_unreadable_image_is_skipped_and_listed(
    tiny_synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = _copy(tiny_synth, tmp_path)
    broken = sorted((ds / "images" / "val").glob("*.png"))[0]
    broken.write_bytes(b"not a png")
    dataset = YoloReader().load(ds, split="val")
    assert len(dataset) == 1
    assert dataset.meta["skipped"][0]["image"] == broken.name
    assert "skipped 1 unreadable image" in capsys.readouterr().err


def _coco(tmp_path: Path, tiny_synth: Path, category_id: int = 5) -> Path:
    image = sorted((tiny_synth / "images" / "val").glob("*.png"))[0]
    shutil.copy(image, tmp_path / "a.png")
    data = {
        "images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "missing.png"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": category_id, "bbox": [4, 6, 10, 12]},
            {"id": 11, "image_id": 1, "category_id": 5, "bbox": [0, 0, 90, 90], "iscrowd": 1},
        ],
        "categories": [{"id": 9, "name": "dog"}, {"id": 5, "name": "cat"}],
    }
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_reader(tiny_synth: Path, tmp_path: Path) -> None:
    path = _coco(tmp_path, tiny_synth)
    reader = CocoReader()
    assert reader.can_read(path)
    ds = reader.load(path)
    assert len(ds) == 1 and ds.meta["skipped"][0]["image"] == "missing.png"
    item = ds.items[0]
    np.testing.assert_allclose(item.target["boxes"], [[4, 6, 14, 18]])
    # categories sorted by id: cat (5) -> 0, dog (9) -> 1; the crowd box is left out
    assert list(item.target["classes"]) == [0] and ds.meta["names"] == {0: "cat", 1: "dog"}


def test_coco_unknown_category(tiny_synth: Path, tmp_path: Path) -> None:
    with pytest.raises(SrpipeError, match="category_id 3 not in 'categories'"):
        CocoReader().load(_coco(tmp_path, tiny_synth, category_id=3))
