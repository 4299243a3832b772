"""Verification and identification metrics against cases worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from srpipe_faces import verification as v

# genuine pairs at 0.1, 0.3, 0.5; impostor pairs at 0.2, 0.4, 0.6, 0.8
D = np.array([0.1, 0.3, 0.5, 0.2, 0.4, 0.6, 0.8])
SAME = np.array([True, True, True, False, False, False, False])


def test_accuracy_at_uses_strict_threshold() -> None:
    # at 0.3: accepted = {0.1, 0.2}; right: 0.1 (genuine), 0.4/0.6/0.8 (rejected impostors)
    assert v.accuracy_at(D, SAME, 0.3) == pytest.approx(4 / 7)
    # at 0.55: accepted = {0.1, ..., 0.5}: right 0.1, 0.3, 0.5 and rejected 0.6, 0.8 -> 5/7
    assert v.accuracy_at(D, SAME, 0.55) == pytest.approx(5 / 7)


def test_best_threshold_is_the_middle_of_the_best_midpoints() -> None:
    d = np.array([0.1, 0.2, 0.5, 0.6])
    same = np.array([True, True, False, False])
    # candidates -0.9, 0.15, 0.35, 0.55, 1.6 -> accuracies .5, .75, 1, .75, .5
    assert v.best_threshold(d, same) == pytest.approx(0.35)


def test_kfold_accuracy_trains_on_the_other_folds() -> None:
    d = np.array([0.1, 0.9, 0.3, 0.35, 0.2, 0.8])
    same = np.array([True, False, True, False, True, False])
    folds = np.array([0, 0, 1, 1, 2, 2])
    accuracy, thresholds = v.kfold_accuracy(d, same, folds)
    # fold 0 trains on {0.3 G, 0.35 I, 0.2 G, 0.8 I}: best cut 0.325 -> fold 0 all right;
    # fold 1 trains on {0.1 G, 0.9 I, 0.2 G, 0.8 I}: best cut 0.5 -> the 0.35 impostor is
    # accepted, fold 1 = 1/2; fold 2 trains on {0.1, 0.9, 0.3, 0.35}: 0.325 -> all right
    assert thresholds == pytest.approx([0.325, 0.5, 0.325])
    assert accuracy == pytest.approx((1 + 0.5 + 1) / 3)


def test_kfold_accuracy_with_one_fold_is_in_sample() -> None:
    accuracy, thresholds = v.kfold_accuracy(D, SAME, np.zeros(len(D)))
    assert len(thresholds) == 1
    assert accuracy == pytest.approx(5 / 7)  # no threshold separates 0.5 G from 0.2/0.4 I


def test_tar_at_far_by_hand() -> None:
    # 4 impostors: FAR 0.25 lets one in (0.2), so accept d < 0.4 -> genuine 0.1, 0.3 -> 2/3
    assert v.tar_at_far(D, SAME, 0.25) == pytest.approx(2 / 3)
    assert v.tar_at_far(D, SAME, 1.0) == 1.0
    assert v.far_resolution(SAME) == pytest.approx(0.25)


def test_tar_below_the_far_resolution_is_not_measurable() -> None:
    # 4 impostors cannot express FAR 0.1: it would be the TAR at zero false accepts (1/3),
    # a different quantity, so it is NaN rather than that number
    assert v.far_measurable(SAME, 0.25) and not v.far_measurable(SAME, 0.1)
    assert math.isnan(v.tar_at_far(D, SAME, 0.1))
    assert math.isnan(v.tar_at_far(D, SAME, 0.0))


def test_tar_at_far_needs_both_kinds() -> None:
    assert math.isnan(v.tar_at_far(D[:3], SAME[:3], 0.01))


def test_roc_auc_counts_ordered_pairs_and_half_ties() -> None:
    # genuine below impostor: 0.1 -> 4, 0.3 -> 3, 0.5 -> 2: 9 of 12
    assert v.roc_auc(D, SAME) == pytest.approx(0.75)
    tie = v.roc_auc(np.array([0.2, 0.2, 0.3]), np.array([True, False, False]))
    assert tie == pytest.approx((0.5 + 1) / 2)


def test_roc_curve_runs_from_zero_to_one() -> None:
    far, tar = v.roc_curve(D, SAME)
    assert (far[0], tar[0]) == (0.0, 0.0) and (far[-1], tar[-1]) == (1.0, 1.0)
    assert np.all(np.diff(far) >= 0) and np.all(np.diff(tar) >= 0)


def test_unscored_pairs_count_as_errors() -> None:
    scored = np.array([True, False, True, True, True, True, False])
    d = v.failure_distances(D, SAME, scored)
    assert d[1] == np.inf and d[6] == -np.inf
    # the unscored genuine pair is never accepted, the unscored impostor always is
    assert v.accuracy_at(d, SAME, 0.55) == pytest.approx(3 / 7)
    # the unscored impostor (-inf) takes the one false accept FAR 0.25 allows: 1/3, not 2/3
    assert v.tar_at_far(d, SAME, 0.25) == pytest.approx(1 / 3)


def test_rank1_excludes_the_probe_image_itself() -> None:
    gallery = {
        "ann": [("ann1", np.array([0.0, 0.0])), ("ann2", np.array([0.0, 1.0]))],
        "bob": [("bob1", np.array([1.0, 0.0]))],
        "cid": [("cid1", np.array([5.0, 5.0]))],
    }
    rate, counted = v.rank1(
        [np.array([0.0, 0.1]), np.array([0.9, 0.9]), np.array([1.0, 0.0]), None],
        ["ann", "ann", "bob", "ann"],
        ["ann1", "ann2", "bob1", "ann3"],
        gallery,
    )
    # probe ann1 -> gallery ann2 (0, 1) vs bob (1, 0): its nearest is ann2? |(0,.1)-(0,1)|=.9,
    # |(0,.1)-(1,0)|=1.005 -> hit. probe ann2 -> ann1 (0,0) dist 1.27 vs bob 0.9 -> miss.
    # bob1 has no other bob image: not counted. ann3 (unscored) counts as a miss.
    assert counted == 3
    assert rate == pytest.approx(1 / 3)


def test_plot_roc_writes_a_png(tmp_path: Path) -> None:
    path = v.plot_roc({"hr": v.roc_curve(D, SAME)}, tmp_path / "roc.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
