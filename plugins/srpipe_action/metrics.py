"""Action metrics as pure functions of class probabilities: accuracy and agreement with HR.

With labels: clip and video top-k accuracy and mean class accuracy (a video's prediction is
the mean of its windows' probabilities, as in torchvision's reference evaluation). Without
labels, what a variant can be compared to is the classifier's prediction on the HR frames:
**top-1 agreement** (same top class) and **top-5 overlap** (shared share of the two top-5
sets). They say how far SR keeps the classifier's decision, never whether it is right, and
are never called accuracy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


def top_k(probabilities: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` largest probabilities, largest first (ties: lower index first)."""
    order = np.argsort(-np.asarray(probabilities, dtype=np.float64), kind="stable")
    return [int(i) for i in order[:k]]


def hit(probabilities: np.ndarray, label: int, k: int) -> float:
    """1.0 when ``label`` is among the ``k`` most probable classes, else 0.0."""
    return float(label in top_k(probabilities, k))


def top1_agreement(probabilities: np.ndarray, reference: np.ndarray) -> float:
    """1.0 when both predictions have the same top class."""
    return float(top_k(probabilities, 1) == top_k(reference, 1))


def top5_overlap(probabilities: np.ndarray, reference: np.ndarray) -> float:
    """Share of the reference's top-5 classes that are also in this top-5 (0.0 to 1.0)."""
    k = min(5, len(reference))
    return len(set(top_k(probabilities, k)) & set(top_k(reference, k))) / k


def video_probabilities(
    videos: Sequence[str], windows: Sequence[int], probabilities: Sequence[np.ndarray]
) -> list[tuple[str, np.ndarray]]:
    """Mean window probabilities per video *occurrence*, in order.

    A bootstrap resample may repeat a video; each repeat counts again. A new occurrence begins
    where the video changes or its window number does not increase (the windows of one
    occurrence come in order).
    """
    out: list[tuple[str, list[np.ndarray]]] = []
    previous: tuple[str, int] | None = None
    for video, window, probs in zip(videos, windows, probabilities, strict=True):
        if previous is None or video != previous[0] or window <= previous[1]:
            out.append((video, []))
        out[-1][1].append(np.asarray(probs, dtype=np.float64))
        previous = (video, window)
    return [(video, np.mean(parts, axis=0)) for video, parts in out]


def mean_class_accuracy(labels: Sequence[int], predicted: Sequence[int]) -> float:
    """Top-1 accuracy per true class, averaged over the classes present (NaN if none)."""
    per_class: dict[int, list[float]] = defaultdict(list)
    for label, guess in zip(labels, predicted, strict=True):
        per_class[label].append(float(label == guess))
    if not per_class:
        return float("nan")
    return float(np.mean([np.mean(v) for v in per_class.values()]))
