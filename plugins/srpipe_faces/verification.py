"""Face verification and identification metrics on distances (pure numpy, no models).

Conventions (the LFW "unrestricted" reporting style):

* a pair is accepted as "same person" when its distance is **strictly below** the threshold;
* accuracy: 10-fold cross-validation; for each fold the threshold that maximises accuracy on
  the other nine folds is applied to the held-out fold; the result is the mean over folds;
* TAR at FAR f: the threshold lets through at most ``floor(f * n_impostors)`` impostor pairs.
  With fewer than ``1 / f`` impostors that is zero: the set cannot tell FAR f from FAR 0, so
  TAR at f is *not measurable* (NaN, never the TAR at zero false accepts passed off as it);
  :func:`far_resolution` says how fine the FAR grid is;
* ROC AUC: the probability that a genuine pair is closer than an impostor pair (ties half);
* rank-1: the probe's nearest gallery identity is its own.

A pair that cannot be scored (no face on one side) is never dropped: it is a *failure*
and gets the worst distance for its label (+inf for a genuine pair, which is then always
rejected; -inf for an impostor pair, which is then always accepted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from srpipe.atomic import atomic_path


def failure_distances(distances: np.ndarray, same: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """Distances with unscored pairs replaced by the worst value for their label."""
    d = np.asarray(distances, dtype=float).copy()
    same = np.asarray(same, dtype=bool)
    scored = np.asarray(scored, dtype=bool)
    d[~scored & same] = np.inf
    d[~scored & ~same] = -np.inf
    return d


def accuracy_at(distances: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Share of pairs decided correctly with "same" iff distance < threshold."""
    d = np.asarray(distances, dtype=float)
    if d.size == 0:
        return float("nan")
    return float(np.mean((d < threshold) == np.asarray(same, dtype=bool)))


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold with the highest accuracy on these pairs.

    Candidates are the midpoints between consecutive distinct finite distances plus one
    below and one above them all; among equally good candidates the middle one is taken,
    so the choice does not lean towards accepting or rejecting.
    """
    d = np.asarray(distances, dtype=float)
    same = np.asarray(same, dtype=bool)
    finite = np.unique(d[np.isfinite(d)])
    if finite.size == 0:
        return 0.0
    candidates = np.concatenate(
        [[finite[0] - 1.0], (finite[:-1] + finite[1:]) / 2.0, [finite[-1] + 1.0]]
    )
    accuracies = np.array([np.mean((d < t) == same) for t in candidates])
    best = np.flatnonzero(accuracies == accuracies.max())
    return float(candidates[best[len(best) // 2]])


def kfold_accuracy(
    distances: np.ndarray, same: np.ndarray, folds: np.ndarray
) -> tuple[float, list[float]]:
    """Cross-validated accuracy: (mean over folds, the per-fold thresholds).

    With a single fold there is nothing to train on, so the threshold is chosen on the same
    pairs (an optimistic, in-sample figure); callers report the fold count beside it.
    """
    d = np.asarray(distances, dtype=float)
    same = np.asarray(same, dtype=bool)
    folds = np.asarray(folds)
    if d.size == 0:
        return float("nan"), []
    labels = np.unique(folds)
    if labels.size < 2:
        threshold = best_threshold(d, same)
        return accuracy_at(d, same, threshold), [threshold]
    accuracies, thresholds = [], []
    for fold in labels:
        test = folds == fold
        threshold = best_threshold(d[~test], same[~test])
        thresholds.append(threshold)
        accuracies.append(accuracy_at(d[test], same[test], threshold))
    return float(np.mean(accuracies)), thresholds


def tar_at_far(distances: np.ndarray, same: np.ndarray, far: float) -> float:
    """True accept rate at the threshold that keeps the false accept rate at most ``far``.

    NaN when it cannot be measured: no genuine or no impostor pair, or ``far`` below
    ``1 / n_impostors`` (see :func:`far_measurable`).
    """
    d = np.asarray(distances, dtype=float)
    same = np.asarray(same, dtype=bool)
    genuine, impostor = d[same], np.sort(d[~same])
    if genuine.size == 0 or not far_measurable(same, far):
        return float("nan")
    allowed = int(np.floor(far * impostor.size + 1e-9))
    if allowed >= impostor.size:
        return 1.0
    # accept d < impostor[allowed]: exactly `allowed` impostors (fewer with ties) get in
    return float(np.mean(genuine < impostor[allowed]))


def far_measurable(same: np.ndarray, far: float) -> bool:
    """True when the impostor pairs can express FAR ``far``: ``far >= 1 / n_impostors``."""
    n = int(np.sum(~np.asarray(same, dtype=bool)))
    return n > 0 and far * n + 1e-9 >= 1.0


def far_resolution(same: np.ndarray) -> float:
    """The smallest non-zero FAR the impostor pairs can express (1 / number of impostors)."""
    n = int(np.sum(~np.asarray(same, dtype=bool)))
    return 1.0 / n if n else float("nan")


def roc_auc(distances: np.ndarray, same: np.ndarray) -> float:
    """Area under the ROC curve = P(genuine distance < impostor distance) + P(tie) / 2."""
    d = np.asarray(distances, dtype=float)
    same = np.asarray(same, dtype=bool)
    genuine, impostor = d[same], d[~same]
    if genuine.size == 0 or impostor.size == 0:
        return float("nan")
    # rank-based Mann-Whitney U; infinities rank like any other value
    order = np.concatenate([genuine, impostor])
    ranks = _average_ranks(-order)  # larger rank = smaller distance = "more same"
    u = ranks[: genuine.size].sum() - genuine.size * (genuine.size + 1) / 2.0
    return float(u / (genuine.size * impostor.size))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (as scipy.stats.rankdata)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(values.size, dtype=float)
    start = 0
    while start < values.size:
        end = start
        while end + 1 < values.size and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def roc_curve(distances: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FAR, TAR) points for every threshold, from (0, 0) to (1, 1)."""
    d = np.asarray(distances, dtype=float)
    same = np.asarray(same, dtype=bool)
    n_gen, n_imp = int(same.sum()), int((~same).sum())
    if n_gen == 0 or n_imp == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    thresholds = np.concatenate([[-np.inf], np.unique(d), [np.inf]])
    far = np.array([np.sum(d[~same] <= t) / n_imp for t in thresholds])
    tar = np.array([np.sum(d[same] <= t) / n_gen for t in thresholds])
    return far, tar


def rank1(
    probe_embeddings: Sequence[np.ndarray | None],
    probe_identities: Sequence[str],
    probe_keys: Sequence[str],
    gallery: Mapping[str, Sequence[tuple[str, np.ndarray]]],
) -> tuple[float, int]:
    """Rank-1 identification rate of probes against a gallery; (rate, probes counted).

    ``gallery`` maps identity -> [(image key, embedding), ...]. Each identity is represented
    by its first image that is not the probe itself, so a probe never matches its own HR
    image; probes whose identity has no other gallery image cannot be identified and are
    not counted. A probe with no embedding (unscored) counts as a miss.
    """
    hits, counted = 0, 0
    for embedding, identity, key in zip(probe_embeddings, probe_identities, probe_keys):
        names, vectors = [], []
        for name, entries in gallery.items():
            for entry_key, vector in entries:
                if entry_key != key:
                    names.append(name)
                    vectors.append(vector)
                    break
        if identity not in names:
            continue
        counted += 1
        if embedding is None:
            continue
        distances = np.linalg.norm(
            np.asarray(vectors, float) - np.asarray(embedding, float), axis=1
        )
        hits += names[int(np.argmin(distances))] == identity
    return (hits / counted if counted else float("nan")), counted


def plot_roc(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: str | Path, title: str = ""
) -> Path:
    """Write ROC curves (log-scale FAR) for several variants to a PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    for name, (far, tar) in curves.items():
        ax.step(np.clip(far, 1e-4, 1.0), tar, where="post", label=name)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("false accept rate (log)")
    ax.set_ylabel("true accept rate")
    ax.set_title(title or "face verification ROC")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return Path(path)
