"""Detection metrics through ultralytics' own implementation (not a hand-rolled AP).

* Matching predictions to ground truth at the ten IoU thresholds 0.50:0.05:0.95 is
  ultralytics' ``BaseValidator.match_predictions`` (greedy, by descending confidence,
  one ground truth per prediction and threshold) - the exact code ``yolo val`` runs.
* AP, precision and recall are ``ultralytics.utils.metrics.ap_per_class``: 101-point
  interpolated AP per class, averaged over the classes present in the ground truth;
  precision and recall are taken at the confidence that maximises the mean F1, as
  ``yolo val`` prints them.
* ``AP_small`` follows COCO's "small" range (box area < 32^2 in HR pixels): ground truths
  of larger area are removed, and so are predictions that are themselves large or that
  overlap a large ground truth of their class with IoU >= 0.5 (COCO ignores those rather
  than counting them false). COCO decides that per IoU threshold; using 0.5 throughout is
  a small simplification that only matters when small and large boxes of one class overlap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from srpipe_detect.offline import import_ultralytics

#: COCO's upper bound of "small" objects, in pixels of area
SMALL_AREA = 32.0**2
METRIC_NAMES = ("mAP50", "mAP50-95", "AP_small", "precision", "recall")


@dataclass
class BoxSet:
    """Boxes of one image: ``boxes`` (N, 4) xyxy float, ``classes`` (N,) int, ``scores`` (N,)."""

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray | None = None


def _areas(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) of xyxy boxes, by ``ultralytics.utils.metrics.box_iou``."""
    import torch

    import_ultralytics()
    from ultralytics.utils.metrics import box_iou as _box_iou

    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    return _box_iou(
        torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)
    ).numpy()


def match(pred: BoxSet, truth: BoxSet) -> np.ndarray:
    """Boolean (N_pred, 10): is each prediction a true positive at IoU 0.50, 0.55, ... 0.95."""
    import torch

    import_ultralytics()
    from ultralytics.engine.validator import BaseValidator

    iouv = torch.linspace(0.5, 0.95, 10)
    if len(pred.boxes) == 0:
        return np.zeros((0, 10), bool)
    if len(truth.boxes) == 0:
        return np.zeros((len(pred.boxes), 10), bool)
    order = np.argsort(-pred.scores, kind="stable")
    iou = torch.from_numpy(box_iou(truth.boxes, pred.boxes[order]))

    class _Thresholds:  # match_predictions reads only self.iouv
        pass

    holder = _Thresholds()
    holder.iouv = iouv
    correct = BaseValidator.match_predictions(
        holder,
        torch.as_tensor(pred.classes[order]),
        torch.as_tensor(truth.classes),
        iou,
    ).numpy()
    out = np.zeros_like(correct)
    out[order] = correct  # back to the caller's order
    return out


def _small_only(pred: BoxSet, truth: BoxSet) -> tuple[BoxSet, BoxSet]:
    small = _areas(truth.boxes) < SMALL_AREA
    large_truth = truth.boxes[~small]
    keep = _areas(pred.boxes) < SMALL_AREA
    if len(large_truth) and len(pred.boxes):
        iou = box_iou(pred.boxes, large_truth)
        same = pred.classes[:, None] == truth.classes[~small][None, :]
        keep &= ~((iou >= 0.5) & same).any(1)
    return (
        BoxSet(pred.boxes[keep], pred.classes[keep], pred.scores[keep]),
        BoxSet(truth.boxes[small], truth.classes[small]),
    )


@dataclass
class ImageMatch:
    """One image's predictions matched to its ground truth (all and "small" only).

    Computing this is the expensive part; :func:`detection_metrics` only concatenates
    matches, so a bootstrap can reuse them for every resample.
    """

    tp: np.ndarray
    conf: np.ndarray
    pred_cls: np.ndarray
    target_cls: np.ndarray
    tp_small: np.ndarray
    conf_small: np.ndarray
    pred_cls_small: np.ndarray
    target_cls_small: np.ndarray


def match_image(pred: BoxSet, truth: BoxSet) -> ImageMatch:
    """Match one image's predictions at the ten IoU thresholds, for all and for small boxes."""
    pred_small, truth_small = _small_only(pred, truth)
    return ImageMatch(
        match(pred, truth),
        np.asarray(pred.scores, np.float64),
        np.asarray(pred.classes, np.int64),
        np.asarray(truth.classes, np.int64),
        match(pred_small, truth_small),
        np.asarray(pred_small.scores, np.float64),
        np.asarray(pred_small.classes, np.int64),
        np.asarray(truth_small.classes, np.int64),
    )


def _ap_table(
    tp: np.ndarray, conf: np.ndarray, pred_cls: np.ndarray, target_cls: np.ndarray
) -> dict[str, float]:
    import_ultralytics()
    from ultralytics.utils.metrics import ap_per_class

    if len(target_cls) == 0 or len(tp) == 0:
        return {"mAP50": 0.0, "mAP50-95": 0.0, "precision": 0.0, "recall": 0.0}
    result = ap_per_class(tp, conf, pred_cls, target_cls)
    p, r, ap = result[2], result[3], result[5]
    return {
        "mAP50": float(ap[:, 0].mean()),
        "mAP50-95": float(ap.mean()),
        "precision": float(p.mean()),
        "recall": float(r.mean()),
    }


def detection_metrics(matches: Sequence[ImageMatch]) -> dict[str, float]:
    """mAP50, mAP50-95, AP_small, precision and recall over matched images.

    Images may repeat (bootstrap resamples): each occurrence counts, as it should.
    AP_small is NaN when there is no small ground truth at all (COCO reports -1).
    """

    def cat(name: str, dtype: type, width: int = 0) -> np.ndarray:
        parts = [getattr(m, name) for m in matches]
        if not parts:
            return np.zeros((0, width) if width else 0, dtype)
        return np.concatenate(parts).astype(dtype)

    out = _ap_table(
        cat("tp", bool, 10),
        cat("conf", np.float64),
        cat("pred_cls", np.int64),
        cat("target_cls", np.int64),
    )
    target_small = cat("target_cls_small", np.int64)
    if len(target_small):
        out["AP_small"] = _ap_table(
            cat("tp_small", bool, 10),
            cat("conf_small", np.float64),
            cat("pred_cls_small", np.int64),
            target_small,
        )["mAP50-95"]
    else:
        out["AP_small"] = math.nan
    return {name: out[name] for name in METRIC_NAMES}
