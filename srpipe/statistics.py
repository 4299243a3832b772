"""Paired bootstrap statistics for comparing variants of one task on the same items.

Every variant (HR, bicubic, each SR model, ...) is scored on the *same* items, so the
honest uncertainty of "SR minus bicubic" is that of a paired difference: each bootstrap
resample draws one set of items (with replacement) and every variant is re-evaluated on
exactly that set. Differences and ratios are then computed resample by resample, which
cancels the item-to-item variance the variants share.

* **Cluster bootstrap**: when items carry a ``group`` (frames of one video, photos of one
  person), whole groups are resampled, because correlated items are not independent
  evidence and resampling them one by one would make the CI too narrow.
* **Gap recovered**: ``(SR - bicubic) / (HR - bicubic)``, the share of what downsampling
  cost that a method wins back. The sign convention makes it valid for metrics where lower
  is better too (both numerator and denominator flip).
* **Speed**: a resample is a vector of item *counts*. When a task's dataset metric is the
  mean of its per-item scores, every resample of every metric is one matrix product
  (counts @ scores); otherwise :func:`bootstrap_evaluate` calls the task's ``evaluate``
  once per resample and variant.

CIs are percentile intervals (95% by default) from a seeded ``numpy`` generator, so the
same seed gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: default confidence level of every interval
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point value with its bootstrap confidence interval ``[low, high]``."""

    value: float
    low: float
    high: float

    @property
    def spans_zero(self) -> bool:
        """True when the interval contains 0 (or is undefined): no significant difference."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return True
        return self.low <= 0.0 <= self.high

    def to_dict(self) -> dict[str, float | None]:
        return {"value": _finite(self.value), "low": _finite(self.low), "high": _finite(self.high)}


@dataclass(frozen=True)
class MetricComparison:
    """One metric of one variant: its value, its difference to the baseline, the gap share."""

    metric: str
    value: Estimate
    #: variant minus baseline (None for the baseline itself or when there is no baseline)
    delta: Estimate | None = None
    #: (variant - baseline) / (oracle - baseline); None when undefined
    gap: Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": self.value.to_dict(),
            "delta": self.delta.to_dict() if self.delta else None,
            "gap_recovered": self.gap.to_dict() if self.gap else None,
        }


def resample_counts(
    n_items: int,
    n_resamples: int,
    seed: int,
    groups: Sequence[str | None] | None = None,
) -> np.ndarray:
    """Bootstrap resamples as an ``(n_resamples, n_items)`` matrix of item counts.

    Without groups every item is drawn independently; with groups (``None`` entries are
    singleton groups) whole groups are drawn with replacement and every item of a drawn
    group counts once per draw. The same matrix is used for every variant: that is what
    makes the bootstrap paired.
    """
    rng = np.random.default_rng(seed)
    if n_items == 0 or n_resamples <= 0:
        return np.zeros((max(n_resamples, 0), n_items), dtype=np.int64)
    if groups is None or all(g is None for g in groups):
        group_of = np.arange(n_items)
    else:
        labels: dict[Any, int] = {}
        group_of = np.array(
            [
                labels.setdefault(("g", g) if g is not None else ("i", i), len(labels))
                for i, g in enumerate(groups)
            ]
        )
    n_groups = int(group_of.max()) + 1
    draws = rng.integers(0, n_groups, size=(n_resamples, n_groups))
    # counts of each group per resample, via one bincount over offset group ids
    offsets = draws + (np.arange(n_resamples) * n_groups)[:, None]
    group_counts = np.bincount(offsets.ravel(), minlength=n_resamples * n_groups)
    group_counts = group_counts.reshape(n_resamples, n_groups)
    return group_counts[:, group_of]


def counts_to_indices(counts: np.ndarray) -> np.ndarray:
    """One resample's counts -> the item indices it holds (an item repeated ``count`` times)."""
    return np.repeat(np.arange(counts.shape[0]), counts)


def bootstrap_means(scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Resampled means of per-item ``scores`` (n_items,) under ``counts`` (B, n_items).

    NaN scores (an item where the metric is undefined) are left out of the mean, as
    ``numpy.nanmean`` would do on the resampled set; an infinite score makes it infinite.
    """
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    filled = np.where(finite, scores, 0.0)
    totals = counts @ filled
    weights = counts @ (~np.isnan(scores)).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(weights > 0, totals / np.maximum(weights, 1e-300), np.nan)
    # an infinite score drawn into a resample makes its mean infinite (PSNR of identical
    # images), unless +inf and -inf cancel to undefined, exactly as numpy's mean would
    pos = (counts @ np.isposinf(scores).astype(np.float64)) > 0
    neg = (counts @ np.isneginf(scores).astype(np.float64)) > 0
    means = np.where(pos & ~neg, np.inf, means)
    means = np.where(neg & ~pos, -np.inf, means)
    return np.where(pos & neg, np.nan, means)


def bootstrap_evaluate(
    evaluate: Callable[[np.ndarray], Mapping[str, float]],
    metrics: Sequence[str],
    counts: np.ndarray,
    on_step: Callable[[], None] | None = None,
) -> dict[str, np.ndarray]:
    """Resampled dataset metrics for a task whose metric is not a plain item mean.

    ``evaluate(indices)`` returns the metrics of the items at ``indices`` (repeats allowed);
    it is called once per resample, then ``on_step()`` (e.g. a progress bar's update).
    """
    out = {m: np.full(counts.shape[0], np.nan) for m in metrics}
    for b in range(counts.shape[0]):
        values = evaluate(counts_to_indices(counts[b]))
        if on_step is not None:
            on_step()
        for m in metrics:
            value = values.get(m)
            out[m][b] = np.nan if value is None else float(value)
    return out


def interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of bootstrap samples, ignoring undefined (NaN) resamples."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return (math.nan, math.nan)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def _ratio(numerator: np.ndarray | float, denominator: np.ndarray | float) -> Any:
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.asarray(numerator, dtype=np.float64)
        den = np.asarray(denominator, dtype=np.float64)
        ok = np.isfinite(den) & np.isfinite(num) & (np.abs(den) > 1e-12)
        return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def compare_variants(
    point: Mapping[str, Mapping[str, float]],
    samples: Mapping[str, Mapping[str, np.ndarray]],
    metrics: Sequence[str],
    *,
    baseline: str | None = "bicubic",
    oracle: str | None = "hr",
    confidence: float = CONFIDENCE,
) -> dict[str, dict[str, MetricComparison]]:
    """Values, paired deltas and gap shares for every variant and metric.

    ``point[variant][metric]`` is the metric on the full item set; ``samples[variant][metric]``
    its bootstrap distribution (same resamples for all variants). Returns
    ``result[variant][metric]``.
    """
    result: dict[str, dict[str, MetricComparison]] = {}
    for variant, values in point.items():
        result[variant] = {}
        for metric in metrics:
            value = float(values.get(metric, math.nan))
            dist = samples[variant][metric]
            est = Estimate(value, *interval(dist, confidence))
            delta = gap = None
            if baseline is not None and baseline in point and variant != baseline:
                base_value = float(point[baseline].get(metric, math.nan))
                base_dist = samples[baseline][metric]
                delta = Estimate(value - base_value, *interval(dist - base_dist, confidence))
                if oracle is not None and oracle in point and variant != oracle:
                    top_value = float(point[oracle].get(metric, math.nan))
                    top_dist = samples[oracle][metric]
                    share = float(_ratio(value - base_value, top_value - base_value))
                    share_dist = _ratio(dist - base_dist, top_dist - base_dist)
                    if math.isfinite(share):
                        gap = Estimate(share, *interval(share_dist, confidence))
            result[variant][metric] = MetricComparison(metric, est, delta, gap)
    return result


def _fmt(value: float, digits: int, sign: bool = False) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value * 100:.0f}%"


def verdict(
    label: str,
    metric: str,
    comparison: MetricComparison,
    *,
    scale: int,
    baseline: str,
    oracle_delta: Estimate | None,
    lower_is_better: bool = False,
    digits: int = 3,
) -> str:
    """One sentence that says whether ``label`` beats ``baseline`` on ``metric``, and by how much.

    ``oracle_delta`` is HR minus baseline: it tells whether downsampling cost anything at all,
    i.e. whether "share of the gap recovered" means something.
    """
    delta = comparison.delta
    if delta is None:
        return f"{label} x{scale}: no {baseline} baseline to compare with on {metric}"
    diff = (
        f"{_fmt(delta.value, digits, True)} [{_fmt(delta.low, digits, True)}, "
        f"{_fmt(delta.high, digits, True)}] {metric} vs {baseline}"
    )
    # Does HR beat the baseline at all? Only then is "share of the loss recovered" meaningful.
    # An infinite oracle delta (a metric of HR against itself, like PSNR) has no gap either.
    oracle_known = oracle_delta is not None and math.isfinite(oracle_delta.value)
    oracle_costs = False
    if oracle_known and not oracle_delta.spans_zero:
        oracle_costs = (oracle_delta.value < 0) if lower_is_better else (oracle_delta.value > 0)
    if math.isfinite(delta.value) and not (math.isfinite(delta.low) and math.isfinite(delta.high)):
        return f"{label} x{scale}: {diff} (no confidence interval, so significance is unknown)"
    if delta.spans_zero:
        return f"{label} x{scale}: no significant difference from {baseline} ({diff})"
    better = (delta.value < 0) if lower_is_better else (delta.value > 0)
    gap = comparison.gap
    if better and oracle_costs and gap is not None:
        return (
            f"{label} x{scale} recovers {_pct(gap.value)} [{_pct(gap.low)}, {_pct(gap.high)}] "
            f"of the {metric} lost to x{scale} downsampling ({diff})"
        )
    if better:
        tail = ""
        if oracle_known and not oracle_costs:
            tail = f"; HR itself is not significantly better than {baseline}, so no gap to recover"
        return f"{label} x{scale} is better than {baseline} ({diff}){tail}"
    tail = ""
    if oracle_costs and gap is not None:
        tail = (
            f"; it widens the loss to x{scale} downsampling by {_pct(-gap.value)} "
            f"[{_pct(-gap.high)}, {_pct(-gap.low)}]"
        )
    return f"{label} x{scale} is worse than {baseline} ({diff}){tail}"


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
