"""Sliced inference through sahi: the settings handed over, what sahi does with them."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
from srpipe_detect import slicing
from srpipe_detect.boxes import Detections
from srpipe_detect.slicing import run_config, sliced_variant, variant_config
from srpipe_detect.task import DetectTask

from srpipe.errors import SrpipeError
from srpipe.image.resize import degrade

SKIP = "sahi not installed: pip install 'srpipe[sahi]'"


def _sahi() -> Any:
    return pytest.importorskip("sahi", reason=SKIP)


# -- the settings (no sahi needed) -----------------------------------------------------------
@pytest.mark.parametrize(("scale", "lr_slice"), [(2, 128), (4, 64)])
def test_variant_slices_are_lr_pixels_magnified_by_the_scale(scale: int, lr_slice: int) -> None:
    config = variant_config(scale, 256, 0.2, 0.001)
    assert (config.slice_px, config.detector_size) == (lr_slice, 256)
    assert config.perform_standard_pred and config.overlap == 0.2
    # eval keeps boxes down to 0.001: SAHI's own rule turns its greedy merge into NMS/IOU
    assert config.merge == ("NMS", "IOU", 0.5)
    text = config.describe("LR", scale)
    assert f"{lr_slice}x{lr_slice} slices of the LR image" in text
    assert f"resized to 256 px by ultralytics' letterbox (bilinear, x{scale})" in text
    assert "+ the whole LR frame at 256 px" in text and "NMS/IOU 0.5" in text


def test_run_config_detects_slices_at_imgsz() -> None:
    assert run_config(256, 0.2, 0.25, None).detector_size == 256  # no magnification
    config = run_config(64, 0.3, 0.25, 250)
    assert config.detector_size == 256  # rounded up to YOLO's stride
    assert config.merge == ("GREEDYNMM", "IOS", 0.5)  # SAHI's default at run confidence
    assert "x4" in config.describe()


def test_without_sahi_no_variant_and_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slicing, "sahi_available", lambda: False)
    assert sliced_variant(DetectTask(), 4) is None
    with pytest.raises(SrpipeError, match=r"pip install 'srpipe\[sahi\]'"):
        slicing.sliced_predict(DetectTask(), np.zeros((8, 8, 3), np.uint8), 4, 0.2)


def test_our_constants_are_sahis_own() -> None:
    _sahi()
    from sahi.predict import LOW_MODEL_CONFIDENCE, get_sliced_prediction

    defaults = inspect.signature(get_sliced_prediction).parameters
    assert slicing.LOW_CONFIDENCE == LOW_MODEL_CONFIDENCE
    keys = ("postprocess_type", "postprocess_match_metric", "postprocess_match_threshold")
    assert tuple(defaults[k].default for k in keys) == slicing.MERGE
    assert defaults["overlap_height_ratio"].default == slicing.DEFAULT_OVERLAP


# -- what sahi receives (a stand-in YOLO records every call) -------------------------------
class _MarkerYolo:
    """Quacks like an ultralytics YOLO for sahi's wrapper; finds the one bright block."""

    names = {0: "marker"}  # noqa: RUF012

    def __init__(self) -> None:
        self.overrides: dict[str, Any] = {"task": "detect"}
        self.calls: list[tuple[tuple[int, int], int]] = []
        self.iou_seen: list[Any] = []

    def __call__(self, images: list[np.ndarray], **kwargs: Any) -> list[Any]:
        import torch

        results = []
        for image in images:
            self.calls.append((image.shape[:2], kwargs["imgsz"]))
            self.iou_seen.append(self.overrides.get("iou"))
            ys, xs = np.nonzero(image[:, :, 0] >= 128)
            rows = []
            if len(xs):
                rows = [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, 0.9, 0]]
            data = torch.tensor(rows, dtype=torch.float32).reshape(-1, 6)
            results.append(SimpleNamespace(boxes=SimpleNamespace(data=data)))
        return results


def _marker_task(conf: float) -> DetectTask:
    task = DetectTask()
    task.model, task.names, task.conf, task.device = _MarkerYolo(), {0: "marker"}, conf, "cpu"
    return task


def test_sahi_gets_the_described_slices_and_boxes_come_back_in_lr_pixels() -> None:
    _sahi()
    from sahi.slicing import get_slice_bboxes

    task = _marker_task(0.001)
    variant = sliced_variant(task, 4)
    assert variant is not None and variant.to_hr == 4.0 and variant.kind == "task"
    lr = np.zeros((80, 80, 3), np.uint8)
    lr[60:63, 70:73] = 255  # in the corner slice only (slices start at 0 and 16)
    assert variant.prepare(np.zeros((320, 320, 3), np.uint8), lr) is lr
    (pred,) = variant.predict(task, [lr])
    # every slice is 64x64 LR px detected at 256 (x4), then the whole 80x80 frame at 256
    calls = task.model.calls
    n_slices = len(get_slice_bboxes(80, 80, 64, 64, False, 0.2, 0.2))
    assert calls[:-1] == [((64, 64), 256)] * n_slices and n_slices == 4
    assert calls[-1] == ((80, 80), 256)
    # seen by all four slices and the full pass, merged to one box in LR coordinates
    assert len(pred) == 1 and pred.image_size == (80, 80)
    np.testing.assert_allclose(pred.boxes[0], [70, 60, 73, 63], atol=1e-4)
    # the task's NMS IoU reached YOLO, and the model's own settings were put back
    assert set(task.model.iou_seen) == {task.iou} and "iou" not in task.model.overrides


def test_run_option_slices_the_given_frame() -> None:
    _sahi()
    task = _marker_task(0.25)
    task.slice, task.overlap = 64, 0.2
    frame = np.zeros((100, 160, 3), np.uint8)
    frame[70:74, 120:124] = 255
    (pred,) = task.predict([frame])
    assert {c for c in task.model.calls[:-1]} == {((64, 64), 64)}  # no magnification
    assert task.model.calls[-1] == ((100, 160), 64)  # SAHI's full pass at the same size
    np.testing.assert_allclose(pred.boxes, [[120, 70, 124, 74]], atol=1e-4)


# -- the real thing on the tiny synthetic set ----------------------------------------------
def test_variant_runs_yolo_through_sahi_on_tiny_synth(
    tiny_synth: Path, untrained_task: DetectTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sahi()
    monkeypatch.setattr(untrained_task, "variant_slice", 64)  # 96 px HR: several x4 slices
    variant = sliced_variant(untrained_task, 4)
    assert variant is not None and "16x16 slices" in variant.meta["method"]
    paths = sorted((tiny_synth / "images" / "test").glob("*.png"))
    lrs = [degrade(cv2.imread(str(p))[:, :, ::-1].copy(), 4) for p in paths]
    preds = variant.predict(untrained_task, lrs)
    assert len(preds) == len(lrs) == 2
    for pred, lr in zip(preds, lrs):
        assert isinstance(pred, Detections) and pred.image_size == (lr.shape[1], lr.shape[0])
        assert len(pred) > 0  # conf 0: an untrained YOLO still returns boxes
        assert (pred.boxes >= 0).all() and (pred.boxes <= 24).all()
        assert set(pred.classes.tolist()) <= set(untrained_task.names)
