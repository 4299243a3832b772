"""srpipe_detect.detector: which weights load, and one image through a loaded detector."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from srpipe_detect.boxes import Detections
from srpipe_detect.detector import (
    detect,
    detect_batch,
    device_for_ultralytics,
    resolve_weights,
)

from srpipe.errors import SrpipeError


def test_weights_resolution_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOLO_OFFLINE", "true")
    with pytest.raises(SrpipeError, match=r"yolo11n\.pt is not a local file and srpipe is offline"):
        resolve_weights("yolo11n.pt")
    with pytest.raises(SrpipeError, match="detector weights not found"):
        resolve_weights(tmp_path / "nope" / "best.pt")
    assert resolve_weights("yolov8n.yaml") == "yolov8n.yaml"
    real = tmp_path / "w.pt"
    real.write_bytes(b"x")
    assert resolve_weights(real) == str(real)


class _NoBoxes:
    """A YOLO stand-in that records how it was called and finds nothing."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def predict(self, images: list[np.ndarray], **settings: Any) -> list[Any]:
        self.calls.append({"shapes": [image.shape for image in images], **settings})
        return [SimpleNamespace(boxes=None) for _ in images]


def test_detect_runs_at_the_native_size_rounded_to_the_stride() -> None:
    model = _NoBoxes()
    detector = SimpleNamespace(
        model=model, names={0: "dot"}, conf=0.3, iou=0.6, class_filter=[0], device="cpu"
    )
    found = detect(detector, np.zeros((50, 70, 3), np.uint8), None)
    assert isinstance(found, Detections) and len(found) == 0
    assert found.image_size == (70, 50) and found.names == {0: "dot"}
    (call,) = model.calls
    assert call["imgsz"] == 96  # the long side (70), up to a multiple of 32
    assert (call["conf"], call["iou"], call["classes"]) == (0.3, 0.6, [0])
    detect(detector, np.zeros((50, 70, 3), np.uint8), 200)
    assert model.calls[-1]["imgsz"] == 224


def test_frames_of_one_size_are_detected_as_one_batch() -> None:
    model = _NoBoxes()
    detector = SimpleNamespace(
        model=model, names={0: "dot"}, conf=0.3, iou=0.6, class_filter=None, device="cpu"
    )
    small, large = np.zeros((50, 70, 3), np.uint8), np.zeros((64, 96, 3), np.uint8)
    found = detect_batch(detector, [small, large, small, small], None)
    assert [d.image_size for d in found] == [(70, 50), (96, 64), (70, 50), (70, 50)]
    assert [(len(c["shapes"]), c["imgsz"], c["batch"]) for c in model.calls] == [
        (3, 96, 3),
        (1, 96, 1),
    ]


def test_device_in_ultralytics_vocabulary() -> None:
    assert device_for_ultralytics("cpu") == "cpu"


def test_reading_class_names_keeps_torchs_threads() -> None:
    """ultralytics sets up an exported model's backend (and torch to cpu_count - 1 threads)
    when its names are read before the first predict: the count is put back."""
    import torch
    from srpipe_detect.detector import class_names

    class Exported:
        @property
        def names(self) -> dict[int, str]:
            torch.set_num_threads(1)
            return {0: "person"}

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert class_names(Exported()) == {0: "person"}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_coco_onnx_detector_leaves_torch_on_every_thread() -> None:
    """Measured before the fix: set up with the COCO ONNX detector, SR ran on one thread."""
    import torch
    from srpipe_detect import coco
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext

    if coco.coco_detector_path() is None:
        pytest.skip("srpipe[coco] is not installed")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        task = DetectTask()
        task.setup(TaskContext("run", device="cpu", options={"detector": "coco"}))
        assert torch.get_num_threads() == 2
        task.predict([np.zeros((64, 96, 3), np.uint8)])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
