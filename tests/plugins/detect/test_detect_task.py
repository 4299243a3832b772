"""DetectTask with an untrained YOLOv8n: the Task contract, options and one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from srpipe_detect import task as task_module
from srpipe_detect.boxes import Detections
from srpipe_detect.detector import BUNDLED_WEIGHTS
from srpipe_detect.task import DetectTask

from srpipe.errors import SrpipeError
from srpipe.task import Item, TaskContext


def _dets(boxes, classes, scores, names) -> Detections:
    return Detections(
        np.asarray(boxes, np.float32),
        np.asarray(classes),
        np.asarray(scores, np.float32),
        names,
        (64, 48),
    )


def test_predict_returns_detections_per_image(untrained_task: DetectTask) -> None:
    images = [np.zeros((48, 64, 3), np.uint8), np.full((40, 40, 3), 127, np.uint8)]
    preds = untrained_task.predict(images)
    assert len(preds) == 2
    for pred, img in zip(preds, images):
        assert isinstance(pred, Detections)
        assert pred.image_size == (img.shape[1], img.shape[0])
        assert pred.boxes.shape == (len(pred), 4) and pred.scores.shape == (len(pred),)
    assert len(untrained_task.names) == 80  # yolov8n.yaml: 80 classes


def test_rescale_records_draw() -> None:
    task = DetectTask()
    pred = _dets([[8, 4, 24, 20]], [1], [0.5], {0: "a", 1: "b"})
    small = task.rescale(pred, 0.25)
    np.testing.assert_allclose(small.boxes, [[2, 1, 6, 5]])
    assert small.image_size == (16, 12)
    (row,) = task.records(pred)
    assert row == {
        "class_id": 1,
        "class": "b",
        "conf": 0.5,
        "x1": 8.0,
        "y1": 4.0,
        "x2": 24.0,
        "y2": 20.0,
    }
    image = np.zeros((48, 64, 3), np.uint8)
    drawn = task.draw(image, pred)
    assert drawn.shape == image.shape and drawn.any() and not image.any()
    assert task.summarize([pred, pred])["per_class"] == {"b": 2}


def test_evaluate_maps_classes_by_name_and_repeats() -> None:
    task = DetectTask()
    item = Item(
        "a",
        np.zeros((48, 64, 3), np.uint8),
        target={"boxes": np.array([[8, 4, 24, 20]], np.float32), "classes": np.array([0])},
        meta={"names": {0: "dot"}},
    )
    # the detector calls "dot" class 3; the dataset calls it 0
    pred = _dets([[8, 4, 24, 20], [30, 30, 40, 40]], [3, 1], [0.9, 0.8], {1: "stripes", 3: "dot"})
    metrics = task.evaluate([pred], [item])
    assert metrics["mAP50"] == pytest.approx(0.995, abs=1e-3)
    assert set(metrics) == set(DetectTask.metrics)
    assert task.evaluate([pred, pred], [item, item]) == metrics
    scores = task.item_scores(pred, item)
    assert scores["recall@0.25"] == 1.0 and scores["precision@0.25"] == 1.0


def test_evaluate_rejects_disjoint_classes() -> None:
    item = Item(
        "a",
        np.zeros((8, 8, 3), np.uint8),
        target={"boxes": np.zeros((0, 4)), "classes": np.zeros(0)},
        meta={"names": {0: "cat"}},
    )
    pred = _dets([[0, 0, 4, 4]], [0], [0.9], {0: "dot"})
    with pytest.raises(SrpipeError, match="share no name"):
        DetectTask().evaluate([pred], [item])


def test_corrupt_weights_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(SrpipeError, match=r"bad\.pt is not a readable torch checkpoint") as info:
        DetectTask().setup(TaskContext("run", device="cpu", options={"detector": str(bad)}))
    assert "\n" not in str(info.value)


def test_option_validation_and_class_filter(untrained_task: DetectTask) -> None:
    with pytest.raises(SrpipeError, match="--conf"):
        DetectTask().setup(TaskContext("run", options={"detector": "yolov8n.yaml", "conf": 2.0}))
    with pytest.raises(SrpipeError, match="unknown class 'giraffe'"):
        untrained_task._class_ids(["giraffe"])
    assert untrained_task._class_ids(["0", "2"]) == [0, 2]


def test_class_filter_restricts_ground_truth_too() -> None:
    task = DetectTask()
    task.names, task.class_filter = {0: "dot", 1: "plain"}, [0]
    item = Item(
        "a",
        np.zeros((48, 64, 3), np.uint8),
        target={
            "boxes": np.array([[8, 4, 24, 20], [30, 30, 40, 40]], np.float32),
            "classes": np.array([1, 0]),
        },
        meta={"names": {0: "plain", 1: "dot"}},
    )
    pred = _dets([[8, 4, 24, 20]], [0], [0.9], {0: "dot", 1: "plain"})
    assert task.item_scores(pred, item)["recall@0.25"] == 1.0


def test_draw_hides_eval_threshold_boxes() -> None:
    task = DetectTask()
    task.conf = 0.001  # an eval threshold: boxes are kept for AP, not for pictures
    image = np.zeros((48, 64, 3), np.uint8)
    faint = _dets([[8, 4, 24, 20]], [0], [0.1], {0: "a"})
    assert not task.draw(image, faint).any()
    task.conf = 0.05
    assert task.draw(image, faint).any()


def test_predict_keeps_torch_threads(untrained_task: DetectTask) -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # ultralytics would set cpu_count - 1 (1 on two cores)
    try:
        untrained_task.predict([np.zeros((32, 32, 3), np.uint8)])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_meets_the_task_contract(tiny_synth: Path) -> None:
    """The bundled detector (trained on these classes) through srpipe.testing's contract check."""
    from srpipe.testing import check_task

    done = check_task(DetectTask, data=tiny_synth, n=2)
    assert "rescale" in done and "item_scores / evaluate" in done


def test_setup_reads_the_options_from_the_context() -> None:
    task = DetectTask()
    options = {"conf": 0.01, "iou": 0.5, "imgsz": 640, "variant_slice": 128, "overlap": 0.3}
    task.setup(TaskContext("eval", device="cpu", options={**options, "other_plugin": True}))
    assert (task.conf, task.iou, task.imgsz) == (0.01, 0.5, 640)
    assert (task.variant_slice, task.overlap, task.slice) == (128, 0.3, 0)
    assert task.model is None  # eval without --detector: chosen when the data is known


class _Model:
    names: ClassVar[dict[int, str]] = {0: "plain", 1: "stripes", 2: "checker", 3: "dot"}


def _coco_json(tiny_synth: Path, tmp_path: Path) -> Path:
    image = sorted((tiny_synth / "images" / "val").glob("*.png"))[0]
    shutil.copy(image, tmp_path / image.name)
    path = tmp_path / "instances.json"
    coco = {
        "images": [{"id": 1, "file_name": image.name}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 4, "bbox": [4, 6, 10, 12]}],
        "categories": [{"id": 4, "name": "dot"}],
    }
    path.write_text(json.dumps(coco))
    return path


def test_paths_are_read_once_by_the_registered_readers(
    tiny_synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """YOLO folder / data.yaml and COCO json reach the task through the core's reader
    dispatch (srpipe.api.load_dataset); the task itself reads only the sets named by no path."""
    from srpipe.api import load_dataset

    loaded: list[str] = []

    def load(path: str, trust: bool = False) -> type[_Model]:
        loaded.append(path)
        return _Model

    monkeypatch.setattr(task_module, "load_detector", load)
    task = DetectTask()
    task.setup(TaskContext("eval", device="cpu"))
    folder = load_dataset(task, tiny_synth)
    assert folder.meta["format"] == "yolo" and len(folder) == 2  # the val split
    assert loaded == [str(BUNDLED_WEIGHTS)]  # the reader let the task choose for its classes
    assert load_dataset(task, tiny_synth / "data.yaml").meta["format"] == "yolo"
    coco = load_dataset(task, _coco_json(tiny_synth, tmp_path))
    assert coco.meta["format"] == "coco" and coco.meta["names"] == {0: "dot"}
    with pytest.raises(SrpipeError, match=r"as a detection dataset; give a YOLO data\.yaml"):
        task.load_dataset(str(tiny_synth))
    with pytest.raises(SrpipeError, match="no such file or folder") as info:
        load_dataset(task, tmp_path / "missing.yaml")
    assert "\n" not in str(info.value)
