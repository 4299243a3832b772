"""Dice and Hausdorff distance in millimetres on hand-checkable masks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from srpipe_medical.segmentation import agreement, dice, hausdorff, rules_for


def _square(top: int, left: int, size: int = 6, shape=(20, 20)) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[top : top + size, left : left + size] = True
    return mask


def test_dice_and_hausdorff_of_a_shifted_square():
    a, b = _square(5, 5), _square(5, 7)  # moved 2 columns
    assert dice(a, b) == pytest.approx(2 * 24 / 72)
    assert hausdorff(a, b) == pytest.approx(2.0)
    # columns 2.0 mm apart, rows 0.5 mm: the shift is 4 mm
    assert hausdorff(a, b, (0.5, 2.0)) == pytest.approx(4.0)
    assert hausdorff(a, a) == 0.0 and dice(a, a) == 1.0


def test_empty_masks():
    empty = np.zeros((20, 20), dtype=bool)
    assert math.isnan(dice(empty, empty))
    # a structure the test image misses entirely: Dice 0, Hausdorff = the slice diagonal
    scores = agreement([(empty, _square(5, 5))], (1.0, 2.0))
    assert scores["dice"] == 0.0
    assert scores["hausdorff_mm"] == pytest.approx(math.hypot(20, 40))
    assert math.isnan(agreement([(empty, empty)], None)["dice"])


def test_ct_uses_hounsfield_thresholds_and_others_hr_otsu():
    hu = np.array([[-1000.0, 0.0], [400.0, 1000.0]])
    bone, air = rules_for("CT", hu)
    assert bone.apply(hu).tolist() == [[False, False], [True, True]]
    assert air.apply(hu).tolist() == [[True, False], [False, False]]
    (otsu,) = rules_for("MR", np.array([[0.0, 0.0], [10.0, 10.0]]))
    assert 0.0 <= otsu.low < 10.0
