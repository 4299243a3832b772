"""Accuracy and agreement with HR, as pure functions of probabilities."""

from __future__ import annotations

import numpy as np


def test_top_k_orders_by_probability_and_breaks_ties_by_index() -> None:
    from srpipe_action.metrics import hit, top_k

    probs = np.array([0.1, 0.4, 0.1, 0.4])
    assert top_k(probs, 3) == [1, 3, 0]
    assert hit(probs, 3, 1) == 0.0
    assert hit(probs, 3, 2) == 1.0


def test_agreement_compares_with_the_hr_prediction_not_a_label() -> None:
    from srpipe_action.metrics import top1_agreement, top5_overlap

    reference = np.array([0.5, 0.2, 0.1, 0.08, 0.07, 0.05])
    same_top = np.array([0.3, 0.25, 0.2, 0.15, 0.0, 0.1])
    other_top = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.0])
    assert top1_agreement(reference, reference) == 1.0
    assert top1_agreement(same_top, reference) == 1.0
    assert top1_agreement(other_top, reference) == 0.0
    assert top5_overlap(reference, reference) == 1.0
    # reference top-5: {0,1,2,3,4}; other's: {4,3,2,1,0 or 5}: 0 and 5 tie at 0.0 -> 0 first
    assert top5_overlap(other_top, reference) == 1.0
    assert top5_overlap(np.array([0, 0, 0, 0, 0.5, 0.5]), reference) == 0.8


def test_video_probabilities_count_each_repeat_of_a_video() -> None:
    from srpipe_action.metrics import video_probabilities

    a0, a1, b0 = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.2, 0.8])
    # a bootstrap resample that draws video a twice in a row
    videos = video_probabilities(["a", "a", "a", "a", "b"], [0, 1, 0, 1, 0], [a0, a1, a0, a1, b0])
    assert [v for v, _ in videos] == ["a", "a", "b"]
    np.testing.assert_allclose(videos[0][1], [0.5, 0.5])
    np.testing.assert_allclose(videos[2][1], b0)


def test_mean_class_accuracy_weighs_classes_equally() -> None:
    from srpipe_action.metrics import mean_class_accuracy

    # class 0: 3 of 3 right; class 1: 0 of 1 right -> 0.5, where plain accuracy is 0.75
    assert mean_class_accuracy([0, 0, 0, 1], [0, 0, 0, 0]) == 0.5
    assert np.isnan(mean_class_accuracy([], []))
