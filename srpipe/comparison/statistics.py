"""Paired interval estimates for comparing variants of one task on the same items.

Every variant (HR, bicubic, each SR model, ...) is scored on the *same* items, so the
honest uncertainty of "SR minus bicubic" is that of a paired difference: each replicate
(a bootstrap resample, or the set with one cluster left out) holds one set of items and
every variant is re-evaluated on exactly that set. Differences and ratios are computed
replicate by replicate, which cancels the item-to-item variance the variants share.

* **Clusters**: items that carry the same ``group`` (frames of one video, pairs of one
  person) are one independent unit of evidence; ``k`` is the number of such clusters
  (an item without a group is a cluster of its own). Resampling items one by one when
  they are correlated would make every interval too narrow.
* **How an interval is made depends on k** (:func:`plan_intervals`; the reasons are in
  docs/statistics.md):

  - ``k >= SMALL_K``: percentile cluster bootstrap;
  - ``MIN_K <= k < SMALL_K``: leave-one-cluster-out jackknife standard error with a
    Student t quantile on ``k - 1`` degrees of freedom. For a mean over clusters of equal
    size this *is* the textbook paired t interval; for dataset metrics (mAP, verification
    accuracy, AUC) the jackknife extends it without assuming the metric is a mean;
  - ``k < MIN_K``: no interval at all, and the report says why.

  A percentile bootstrap with a handful of clusters has very few distinct resamples (10
  with 3 clusters) and its "95%" interval is close to the range of the cluster values:
  far too narrow, which is why it is not used there.
* **Undefined replicates are counted, never hidden**: a bootstrap interval reports the
  share of resamples where the metric was undefined (and dropped); a jackknife interval
  is not given at all when leaving some cluster out makes the metric undefined (the
  metric then rests on that cluster alone), and says which cluster.
* **Gap recovered**: ``(SR - bicubic) / (HR - bicubic)``, the share of what downsampling
  cost that a method wins back. The sign convention makes it valid for metrics where lower
  is better too (both numerator and denominator flip).
* **Speed**: a replicate is a vector of item *counts*. When a task's dataset metric is the
  mean of its per-item scores, every replicate of every metric is one matrix product
  (counts @ scores); otherwise :func:`bootstrap_evaluate` calls the task's ``evaluate``
  once per replicate and variant.

Bootstrap resamples come from a seeded ``numpy`` generator, so the same seed gives the
same numbers; the jackknife involves no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

#: default confidence level of every interval
CONFIDENCE = 0.95
#: from this many independent clusters on, the percentile cluster bootstrap is used
SMALL_K = 20
#: below this many clusters no interval is given (docs/statistics.md says why)
MIN_K = 3

#: dtype of replicate item counts (a resample holds an item at most ``n_items`` times): half
#: int64's bytes, which matters on a big set (1,000 resamples x 50,000 items: 200 MB)
COUNT_DTYPE = np.int32
#: draws per block when making bootstrap resamples (bounds their temporaries: ~8 MB each)
_BLOCK_ENTRIES = 1 << 20

#: interval methods, as report.json names them
BOOTSTRAP = "percentile-bootstrap"
JACKKNIFE = "jackknife-t"
NO_INTERVAL = "none"


@dataclass(frozen=True)
class Estimate:
    """A point value with its confidence interval ``[low, high]`` and how it was made.

    ``low``/``high`` are NaN when there is no interval; ``note`` then says why. ``k`` is
    the number of independent clusters behind the interval and ``undefined`` the share of
    bootstrap resamples where the metric was undefined and left out.
    """

    value: float
    low: float
    high: float
    method: str = ""
    k: int = 0
    undefined: float = 0.0
    note: str = ""

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def spans_zero(self) -> bool:
        """True when the interval contains 0 (or is undefined): no significant difference."""
        if not self.has_interval:
            return True
        return self.low <= 0.0 <= self.high

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "value": _finite(self.value),
            "low": _finite(self.low),
            "high": _finite(self.high),
            "method": self.method or None,
            "k": self.k or None,
        }
        if self.undefined:
            data["undefined_share"] = round(self.undefined, 4)
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class MetricComparison:
    """One metric of one variant: its value, its difference to the baseline, the gap share."""

    metric: str
    value: Estimate
    #: variant minus baseline (None for the baseline itself or when there is no baseline)
    delta: Estimate | None = None
    #: (variant - baseline) / (oracle - baseline); None when undefined
    gap: Estimate | None = None
    #: why this dataset cannot measure the metric at all (then every number is None)
    not_measurable: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "metric": self.metric,
            "value": self.value.to_dict(),
            "delta": self.delta.to_dict() if self.delta else None,
            "gap_recovered": self.gap.to_dict() if self.gap else None,
        }
        if self.not_measurable:
            data["not_measurable"] = self.not_measurable
        return data


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
        return np.zeros((max(n_resamples, 0), n_items), dtype=COUNT_DTYPE)
    group_of, _ = cluster_ids(groups, n_items)
    n_groups = int(group_of.max()) + 1
    counts = np.empty((n_resamples, n_items), dtype=COUNT_DTYPE)
    # a block of resamples at a time: the draws' temporaries stay small on a big set, and
    # the generator gives the same numbers drawn in blocks as drawn at once
    block = max(1, _BLOCK_ENTRIES // n_groups)
    for start in range(0, n_resamples, block):
        rows = min(block, n_resamples - start)
        draws = rng.integers(0, n_groups, size=(rows, n_groups))
        # counts of each group per resample, via one bincount over offset group ids
        offsets = draws + (np.arange(rows) * n_groups)[:, None]
        group_counts = np.bincount(offsets.ravel(), minlength=rows * n_groups)
        counts[start : start + rows] = group_counts.reshape(rows, n_groups)[:, group_of]
    return counts


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


class Interval(NamedTuple):
    """A percentile interval and the share of resamples left out as undefined."""

    low: float
    high: float
    #: share of resamples whose value was not finite (dropped before taking percentiles)
    undefined: float


def interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """Percentile interval of bootstrap samples.

    Undefined (non-finite) resamples cannot be ranked and are left out, but the share left
    out is returned with the interval so that a caller can say the interval is conditional
    on the metric being defined; with none defined the interval is ``(nan, nan, 1.0)``.
    """
    samples = np.asarray(samples, dtype=np.float64)
    finite = samples[np.isfinite(samples)]
    undefined = 1.0 - finite.size / samples.size if samples.size else 0.0
    if finite.size == 0:
        return Interval(math.nan, math.nan, undefined)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return Interval(float(low), float(high), undefined)


def t_quantile(confidence: float, df: int) -> float:
    """The two-sided Student t critical value: ``P(|T_df| <= q) = confidence``."""
    # scipy.special's inverse t CDF is the same routine scipy.stats.t.ppf calls, and
    # importing it costs a third of importing scipy.stats (0.2 s vs 0.7 s: every report)
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.5 + confidence / 2.0))


def jackknife_interval(
    value: float, replicates: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """``value +- t(k-1) * SE`` with the leave-one-cluster-out jackknife standard error.

    ``replicates[c]`` is the statistic with cluster ``c`` left out (all finite).
    ``SE**2 = (k-1)/k * sum((replicates - mean(replicates))**2)``; for a plain mean of k
    values this equals ``s**2 / k``, so the interval is exactly the one-sample t interval.
    """
    reps = np.asarray(replicates, dtype=np.float64)
    k = reps.size
    if k < 2:
        return (math.nan, math.nan)
    se = math.sqrt((k - 1) / k * float(np.sum((reps - reps.mean()) ** 2)))
    half = t_quantile(confidence, k - 1) * se
    return (value - half, value + half)


@dataclass(frozen=True)
class IntervalPlan:
    """How the intervals of one comparison are made: the method, ``k`` and the replicates.

    ``counts`` is an ``(R, n_items)`` matrix of item counts, one row per replicate: the
    bootstrap resamples, or for the jackknife the full set with one cluster left out.
    Every variant is evaluated on the same rows, which is what makes the estimates paired.
    """

    method: str
    k: int
    counts: np.ndarray
    confidence: float = CONFIDENCE
    #: jackknife: the cluster each replicate leaves out
    clusters: tuple[str, ...] = ()
    #: why there is no interval (method ``none``)
    reason: str = ""
    resamples: int = 0
    small_k: int = SMALL_K
    min_k: int = MIN_K

    @property
    def df(self) -> int | None:
        """Degrees of freedom of the t quantile (jackknife only)."""
        return self.k - 1 if self.method == JACKKNIFE else None

    def describe(self) -> dict[str, Any]:
        """What report.json says about the intervals (settings.intervals)."""
        text = {
            BOOTSTRAP: f"percentile cluster bootstrap over k = {self.k} clusters "
            f"({self.resamples} resamples)",
            JACKKNIFE: f"leave-one-cluster-out jackknife SE x Student t, {self.df} df (fewer "
            f"than {self.small_k} clusters: a percentile bootstrap would be too narrow)",
            NO_INTERVAL: f"no intervals: {self.reason}",
        }[self.method]
        return {
            "method": self.method,
            "k": self.k,
            "df": self.df,
            "confidence": self.confidence,
            "resamples": self.resamples if self.method == BOOTSTRAP else None,
            "small_k_threshold": self.small_k,
            "min_k": self.min_k,
            "reason": self.reason or None,
            "description": text,
        }

    def estimate(self, value: float, samples: np.ndarray) -> Estimate:
        """``value`` with the interval its replicates ``samples`` give under this plan."""
        value = float(value)
        nan = math.nan
        if math.isnan(value):
            return Estimate(value, nan, nan, self.method, self.k, note="undefined on this set")
        if math.isinf(value):
            return Estimate(value, nan, nan, self.method, self.k)
        if self.method == NO_INTERVAL:
            return Estimate(value, nan, nan, self.method, self.k, note=f"no CI: {self.reason}")
        if self.method == BOOTSTRAP:
            low, high, undefined = interval(samples, self.confidence)
            note = ""
            if undefined >= 1.0:
                note = "no CI: undefined in every bootstrap resample"
            elif undefined > 0:
                note = (
                    f"undefined in {undefined:.1%} of the bootstrap resamples, which were "
                    "dropped: the CI holds only given that it is defined"
                )
            return Estimate(value, low, high, self.method, self.k, undefined, note)
        reps = np.asarray(samples, dtype=np.float64)
        bad = [c for c, ok in zip(self.clusters, np.isfinite(reps)) if not ok]
        if bad:
            names = ", ".join(repr(c) for c in bad[:3]) + (" ..." if len(bad) > 3 else "")
            return Estimate(
                value,
                nan,
                nan,
                self.method,
                self.k,
                note=f"no CI: undefined once cluster {names} is left out, so the value rests "
                f"on {'that cluster' if len(bad) == 1 else 'those clusters'} alone",
            )
        low, high = jackknife_interval(value, reps, self.confidence)
        return Estimate(value, low, high, self.method, self.k)


def cluster_ids(groups: Sequence[str | None] | None, n_items: int) -> tuple[np.ndarray, list[str]]:
    """Each item's cluster index and each cluster's label (``None`` groups are singletons)."""
    if groups is None:
        groups = [None] * n_items
    index: dict[Any, int] = {}
    labels: list[str] = []
    ids = []
    for i, g in enumerate(groups):
        key = ("g", g) if g is not None else ("i", i)
        if key not in index:
            index[key] = len(labels)
            labels.append(str(g) if g is not None else f"item {i}")
        ids.append(index[key])
    return np.asarray(ids, dtype=np.int64), labels


def plan_intervals(
    groups: Sequence[str | None],
    n_resamples: int,
    seed: int,
    confidence: float = CONFIDENCE,
    *,
    small_k: int = SMALL_K,
    min_k: int = MIN_K,
) -> IntervalPlan:
    """Choose the interval method for items with these ``groups`` (see the module notes).

    ``n_resamples`` is ``--bootstrap``: 0 asks for no intervals at all.
    """
    n = len(groups)
    ids, labels = cluster_ids(groups, n)
    k = len(labels)
    common = dict(confidence=confidence, small_k=small_k, min_k=min_k)
    if n_resamples <= 0:
        return IntervalPlan(
            NO_INTERVAL, k, np.zeros((0, n), COUNT_DTYPE), reason="--bootstrap 0", **common
        )
    if k < min_k:
        return IntervalPlan(
            NO_INTERVAL,
            k,
            np.zeros((0, n), COUNT_DTYPE),
            reason=f"only {k} independent cluster{'s' if k != 1 else ''}; an interval needs "
            f"at least {min_k}",
            **common,
        )
    if k < small_k:
        counts = (ids[None, :] != np.arange(k)[:, None]).astype(COUNT_DTYPE)
        return IntervalPlan(JACKKNIFE, k, counts, clusters=tuple(labels), **common)
    counts = resample_counts(n, n_resamples, seed, groups)
    return IntervalPlan(BOOTSTRAP, k, counts, resamples=n_resamples, **common)


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
    plan: IntervalPlan,
    baseline: str | None = "bicubic",
    oracle: str | None = "hr",
    not_measurable: Mapping[str, str] | None = None,
) -> dict[str, dict[str, MetricComparison]]:
    """Values, paired deltas and gap shares for every variant and metric.

    ``point[variant][metric]`` is the metric on the full item set; ``samples[variant][metric]``
    its value on every replicate of ``plan`` (the same rows for all variants). A metric in
    ``not_measurable`` (metric -> why) gets no numbers at all. Returns
    ``result[variant][metric]``.
    """
    unmeasurable = dict(not_measurable or {})
    nan = math.nan
    result: dict[str, dict[str, MetricComparison]] = {}
    for variant, values in point.items():
        result[variant] = {}
        for metric in metrics:
            if metric in unmeasurable:
                empty = Estimate(nan, nan, nan, plan.method, plan.k)
                result[variant][metric] = MetricComparison(
                    metric, empty, not_measurable=unmeasurable[metric]
                )
                continue
            value = float(values.get(metric, nan))
            dist = samples[variant][metric]
            est = plan.estimate(value, dist)
            delta = gap = None
            if baseline is not None and baseline in point and variant != baseline:
                base_value = float(point[baseline].get(metric, nan))
                base_dist = samples[baseline][metric]
                with np.errstate(invalid="ignore"):
                    delta = plan.estimate(value - base_value, dist - base_dist)
                if oracle is not None and oracle in point and variant != oracle:
                    top_value = float(point[oracle].get(metric, nan))
                    top_dist = samples[oracle][metric]
                    share = float(_ratio(value - base_value, top_value - base_value))
                    share_dist = _ratio(dist - base_dist, top_dist - base_dist)
                    if math.isfinite(share):
                        gap = plan.estimate(share, share_dist)
            result[variant][metric] = MetricComparison(metric, est, delta, gap)
    return result


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
