"""SAHI-style slicing: window placement, coordinate mapping, NMS merge, eval variant."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from srpipe_detect.slicing import merge, slice_starts, sliced_predict, sliced_variant
from srpipe_detect.task import Detections, DetectTask


def test_slice_starts_cover_without_padding() -> None:
    assert slice_starts(100, 256, 0.2) == [0]
    starts = slice_starts(600, 256, 0.2)
    assert starts[0] == 0 and starts[-1] == 600 - 256
    assert all(b - a <= 256 for a, b in itertools.pairwise(starts))  # no gaps


class _MarkerTask(DetectTask):
    """Finds the one bright block of an image (stands in for YOLO)."""

    def __init__(self) -> None:
        super().__init__()
        self.names = {0: "marker"}
        self.seen_sizes: list[tuple[int, int]] = []

    def predict_at(self, image: np.ndarray, imgsz: int | None) -> Detections:
        self.seen_sizes.append(image.shape[:2])
        ys, xs = np.nonzero(image[:, :, 0] >= 128)  # half intensity: edges survive resizing
        h, w = image.shape[:2]
        if len(xs) == 0:
            return Detections.empty(self.names, (w, h))
        box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
        return Detections(box, np.array([0]), np.array([0.9], np.float32), self.names, (w, h))


def test_sliced_predict_maps_boxes_back_and_merges() -> None:
    image = np.zeros((100, 160, 3), np.uint8)
    image[70:74, 120:124] = 255
    task = _MarkerTask()
    det = sliced_predict(task, image, 64, 0.25, imgsz=128)
    # the marker is seen by several slices and the full pass; NMS keeps one box
    assert len(det) == 1
    np.testing.assert_allclose(det.boxes[0], [120, 70, 124, 74], atol=1e-4)
    # slices were magnified x2 to 128 px, the full pass was at the image's own size
    assert (128, 128) in task.seen_sizes and task.seen_sizes[-1] == (100, 160)


def test_merge_keeps_other_classes() -> None:
    a = Detections(np.array([[0, 0, 10, 10]], np.float32), np.array([0]), np.array([0.9]), {})
    b = Detections(np.array([[0, 0, 10, 10]], np.float32), np.array([1]), np.array([0.8]), {})
    assert len(merge([a, b, a], (20, 20))) == 2


def test_variant_is_sahi_on_lr() -> None:
    task = _MarkerTask()
    task.variant_slice = 64
    variant = sliced_variant(task, 4)
    assert variant is not None and variant.to_hr == 4.0 and variant.kind == "task"
    hr, lr = np.zeros((64, 64, 3), np.uint8), np.zeros((16, 16, 3), np.uint8)
    assert variant.prepare(hr, lr) is lr
    lr[4:6, 8:10] = 255
    (pred,) = variant.predict(task, [lr])
    np.testing.assert_allclose(pred.boxes[0], [8, 4, 10, 6], atol=1e-4)  # LR pixels
    task.variant_slice = 0
    assert sliced_variant(task, 4) is None


@pytest.mark.parametrize("scale", [2, 4])
def test_variant_slice_size_in_lr_pixels(scale: int) -> None:
    task = _MarkerTask()
    variant = sliced_variant(task, scale)
    assert f"slices of {256 // scale} LR px" in variant.meta["method"]
