"""Detection metrics through ultralytics' matching and ap_per_class."""

from __future__ import annotations

import math

import numpy as np
import pytest
from srpipe_detect.metrics import BoxSet, detection_metrics, match, match_image

TRUTH = BoxSet(
    np.array([[10, 10, 20, 20], [40, 40, 52, 52], [0, 0, 60, 60]], np.float32),
    np.array([0, 1, 1]),
)


def _pred(boxes, classes, scores) -> BoxSet:
    return BoxSet(np.asarray(boxes, np.float32), np.asarray(classes), np.asarray(scores, float))


def test_perfect_predictions_score_about_one() -> None:
    pred = _pred(TRUTH.boxes, TRUTH.classes, [0.9, 0.8, 0.7])
    m = detection_metrics([match_image(pred, TRUTH)])
    # ultralytics' 101-point interpolated AP of a perfect ranking is 0.995, not 1
    assert m["mAP50"] == pytest.approx(0.995, abs=1e-3)
    assert m["mAP50-95"] == pytest.approx(0.995, abs=1e-3)
    assert m["precision"] == pytest.approx(1.0, abs=1e-3)
    assert m["recall"] == pytest.approx(1.0, abs=1e-3)
    # the 60x60 box is not "small" (area >= 32^2): AP_small sees only the two small ones
    assert m["AP_small"] == pytest.approx(0.995, abs=1e-3)


def test_wrong_class_and_shifted_boxes() -> None:
    wrong = _pred(TRUTH.boxes, [1, 0, 0], [0.9, 0.8, 0.7])
    assert detection_metrics([match_image(wrong, TRUTH)])["mAP50"] == 0.0
    # shift by 2 px: 10x10 box IoU = 64/136 = 0.47 (< 0.5), 12x12: 100/188 = 0.53
    shifted = _pred(TRUTH.boxes + 2, TRUTH.classes, [0.9, 0.8, 0.7])
    tp = match(shifted, TRUTH)
    assert not tp[0].any()
    assert tp[1, 0] and not tp[1, 1]
    m = detection_metrics([match_image(shifted, TRUTH)])
    assert 0.0 < m["mAP50-95"] < m["mAP50"] < 0.995


def test_one_truth_matches_one_prediction() -> None:
    dup = _pred([[10, 10, 20, 20], [10, 10, 20, 20]], [0, 0], [0.9, 0.6])
    tp = match(dup, BoxSet(TRUTH.boxes[:1], TRUTH.classes[:1]))
    assert tp[:, 0].tolist() == [True, False]


def test_repeated_items_count_each_time() -> None:
    good = match_image(_pred(TRUTH.boxes, TRUTH.classes, [0.9, 0.8, 0.7]), TRUTH)
    empty = match_image(_pred(np.zeros((0, 4)), [], []), TRUTH)
    once = detection_metrics([good, empty])
    twice_good = detection_metrics([good, good, empty])
    assert twice_good["recall"] > once["recall"]


def test_no_small_truth_gives_nan_ap_small() -> None:
    big = BoxSet(np.array([[0, 0, 60, 60]], np.float32), np.array([0]))
    m = detection_metrics([match_image(_pred(big.boxes, [0], [0.9]), big)])
    assert math.isnan(m["AP_small"]) and m["mAP50"] > 0.99
