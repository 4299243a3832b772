"""SAHI-style sliced inference: the non-SR way to find tiny objects, as an option and a variant.

SAHI (Akyon et al., ICIP 2022) cuts a large image into overlapping slices, lets the
detector see each slice at its full input size (so small objects are magnified by the
detector's own resize), adds one pass over the whole image, and merges everything with
NMS. Written from the paper's description; no SAHI code is used.

Two uses here:

* ``srpipe run detect --slice 256 --overlap 0.2 INPUT``: every (possibly upscaled) frame
  is sliced; each slice goes to the detector at ``--imgsz`` (default: the slice's own
  size, i.e. no magnification; ``--sr none --slice 64 --imgsz 256`` is SAHI's
  "magnify each slice x4" on a low-resolution input).
* the ``sliced`` comparison variant of ``srpipe eval detect``. **What it is, honestly**:
  it starts from the *LR* image (no SR, no external upscaling), cuts slices of
  ``S / scale`` LR pixels (``S`` = ``--slice``, default 256) with ``--overlap``, magnifies
  each slice by ``scale`` to ``S`` pixels with bilinear interpolation (what the detector's
  own letterbox resize does), detects, adds a full-frame pass on the LR image at its own
  size, merges with class-aware NMS (IoU 0.5) and maps boxes to HR coordinates. So each
  object reaches the detector at HR size, as with the upscaling baselines; what slicing
  adds is the SAHI recipe (bilinear magnification per slice + the extra full-frame pass),
  not extra pixels. Its big wins in the literature come from detectors that *shrink* large
  frames to 640 px, which srpipe's native-size detection never does - expect it to land
  near the bilinear baseline here, and read the report rather than this comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from srpipe.task import Variant

if TYPE_CHECKING:
    from srpipe_detect.task import Detections, DetectTask

#: IoU above which boxes of one class from different slices are merged (SAHI's default)
MERGE_IOU = 0.5


def slice_starts(length: int, size: int, overlap: float) -> list[int]:
    """Start offsets covering ``[0, length)`` with windows of ``size`` overlapping by ``overlap``.

    The last window is shifted back to end exactly at ``length`` (no padding), as SAHI does.
    """
    if length <= size:
        return [0]
    step = max(1, int(size * (1.0 - overlap)))
    starts = list(range(0, length - size, step))
    starts.append(length - size)
    return sorted(set(starts))


def merge(parts: Sequence[Detections], image_size: tuple[int, int]) -> Detections:
    """Concatenate detections (already in full-image coordinates) and apply class-aware NMS."""
    import torch
    from torchvision.ops import batched_nms

    from srpipe_detect.task import Detections

    names = parts[0].names if parts else {}
    parts = [p for p in parts if len(p)]
    if not parts:
        return Detections.empty(names, image_size)
    boxes = np.concatenate([p.boxes for p in parts])
    classes = np.concatenate([p.classes for p in parts])
    scores = np.concatenate([p.scores for p in parts])
    keep = batched_nms(
        torch.from_numpy(boxes).float(),
        torch.from_numpy(scores).float(),
        torch.from_numpy(classes),
        MERGE_IOU,
    ).numpy()
    return Detections(boxes[keep], classes[keep], scores[keep], names, image_size)


def sliced_predict(
    task: DetectTask,
    image: np.ndarray,
    slice_size: int,
    overlap: float,
    *,
    imgsz: int | None = None,
    full_pass: bool = True,
) -> Detections:
    """Detect on overlapping slices of ``image`` (+ one full-frame pass) and merge.

    Each slice is magnified to ``imgsz`` pixels (bilinear) when ``imgsz`` is larger than
    the slice, then detected at its own size; boxes are mapped back to ``image`` pixels.
    """
    import cv2

    h, w = image.shape[:2]
    parts = []
    for y in slice_starts(h, slice_size, overlap):
        for x in slice_starts(w, slice_size, overlap):
            tile = image[y : y + slice_size, x : x + slice_size]
            factor = 1.0
            if imgsz and imgsz > max(tile.shape[:2]):
                factor = imgsz / max(tile.shape[:2])
                size = (round(tile.shape[1] * factor), round(tile.shape[0] * factor))
                tile = cv2.resize(tile, size, interpolation=cv2.INTER_LINEAR)
            det = task.predict_at(tile, None)
            if len(det):
                det = task.rescale(det, 1.0 / factor)
                det.boxes = det.boxes + np.array([x, y, x, y], np.float32)
            parts.append(det)
    if full_pass:
        parts.append(task.predict_at(image, None))
    return merge(parts, (w, h))


def sliced_variant(task: Any, scale: int) -> Variant | None:
    """The ``sliced`` comparison variant (see the module docstring), or None for other tasks."""
    if getattr(task, "name", "") != "detect" or scale < 1:
        return None
    size = int(getattr(task, "variant_slice", 256) or 0)
    if size <= 0:
        return None
    overlap = float(getattr(task, "overlap", 0.2))
    lr_slice = max(8, round(size / scale))

    def predict(task: DetectTask, images: Sequence[np.ndarray]) -> list[Detections]:
        return [
            sliced_predict(task, lr, lr_slice, overlap, imgsz=lr_slice * scale) for lr in images
        ]

    return Variant(
        name="sliced",
        prepare=lambda hr, lr: lr,
        to_hr=float(scale),
        predict=predict,
        kind="task",
        meta={
            "method": f"SAHI-style slices of {lr_slice} LR px magnified x{scale} (bilinear), "
            f"overlap {overlap}, + full LR frame, NMS {MERGE_IOU}"
        },
    )
