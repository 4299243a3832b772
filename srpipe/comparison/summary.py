"""From rows to numbers: each variant's metrics with their resamples, then one scale's
paired statistics and verdicts.

Rank 0 alone does this, once every rank's rows of a variant are gathered. It is apart from
scoring because it never touches an image: it needs the rows, the predictions when the
task's metrics are dataset metrics (mAP is recomputed on every resample), and the interval
plan fixed once for the whole run, so that every variant and scale is resampled alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srpipe.comparison import statistics
from srpipe.comparison.items import ItemColumns
from srpipe.comparison.results import Crop, VariantInfo
from srpipe.comparison.scoring import ProgressBar, VariantRun
from srpipe.comparison.statistics import IntervalPlan, MetricComparison
from srpipe.comparison.verdicts import sr_verdicts
from srpipe.errors import SrpipeError
from srpipe.task import Dataset, Item, Task, Variant


@dataclass(frozen=True)
class Measurement:
    """What every scale measures and how its intervals are made, fixed before the first."""

    metrics: tuple[str, ...]
    #: ``Task.evaluate_is_item_mean``: metrics are item means, predictions need not be kept
    item_mean: bool
    intervals: IntervalPlan
    #: metric -> why this set cannot measure it (``Task.not_measurable``)
    not_measurable: dict[str, str]

    @classmethod
    def plan(
        cls, task: Task, dataset: Dataset, bootstrap: int, seed: int, confidence: float
    ) -> Measurement:
        """The task's metrics and the interval plan its groups allow."""
        metrics = tuple(task.metrics)
        if not metrics:
            raise SrpipeError(f"task {task.name!r} declares no metrics; set Task.metrics")
        groups = [item.group for item in dataset.items]
        return cls(
            metrics=metrics,
            item_mean=bool(getattr(task, "evaluate_is_item_mean", False)),
            intervals=statistics.plan_intervals(groups, bootstrap, seed, confidence),
            not_measurable=task.not_measurable(dataset.items),
        )

    @property
    def headline(self) -> str:
        """The metric verdicts and crops talk about."""
        return self.metrics[0]


@dataclass
class MeasuredVariant:
    """One variant at one scale, every item gathered: its item columns and metric distributions.

    The rows themselves are not kept: the harness streams them to the report's items file
    (:mod:`srpipe.comparison.items`); what the statistics and crops need are number arrays.
    """

    variant: Variant
    info: VariantInfo
    #: per-item PSNR against HR and item scores of the task's metrics, as arrays
    columns: ItemColumns
    #: metric -> the value on the full set
    point: dict[str, float]
    #: metric -> the value on every resample of the plan
    samples: dict[str, np.ndarray]

    @property
    def name(self) -> str:
        return self.info.name

    def psnr_mean(self) -> float | None:
        """Mean PSNR against HR over the items where it is finite (None: never)."""
        psnr = self.columns.psnr
        finite = psnr[~np.isnan(psnr)]
        return float(np.mean(finite)) if finite.size else None


@dataclass
class ScaleSummary:
    """Everything rank 0 concluded at one scale, ready for the result."""

    scale: int
    variants: list[MeasuredVariant]
    baseline: str | None
    stats: dict[str, dict[str, MetricComparison]]
    verdicts: list[str]
    #: can the set tell whether SR helps (:meth:`srpipe.comparison.verdicts.Power.to_dict`)
    power: dict[str, Any]
    #: the report's crops (:mod:`srpipe.comparison.crops`), drawn once the baseline is known
    crops: list[Crop] = field(default_factory=list)


def measure_variant(
    task: Task,
    run: VariantRun,
    variant: Variant,
    items: Sequence[Item],
    measurement: Measurement,
    bar: ProgressBar,
) -> MeasuredVariant:
    """One variant's metrics on the full set and on every resample of the plan."""
    metrics = measurement.metrics
    counts = measurement.intervals.counts
    columns = ItemColumns.from_rows(run.rows, metrics)
    if measurement.item_mean:
        scores = columns.scores
        empty = [m for m in metrics if np.isnan(scores[m]).all()]
        if empty:
            raise SrpipeError(
                f"task {task.name!r} sets evaluate_is_item_mean but item_scores() "
                f"gave no {', '.join(empty)}; return every metric per item"
            )
        point = {m: _nanmean(scores[m]) for m in metrics}
        samples = {m: statistics.bootstrap_means(scores[m], counts) for m in metrics}
        return MeasuredVariant(variant, run.info, columns, point, samples)
    predictions = run.predictions
    point = evaluate(task, predictions, items, metrics)
    # a dataset metric like mAP must be recomputed on every resample
    progress = bar(len(counts), f"x{run.info.scale} {run.info.name} bootstrap")
    try:
        samples = statistics.bootstrap_evaluate(
            lambda idx: evaluate(
                task, [predictions[i] for i in idx], [items[i] for i in idx], metrics
            ),
            metrics,
            counts,
            on_step=progress.update,
        )
    finally:
        progress.close()
    return MeasuredVariant(variant, run.info, columns, point, samples)


def summarise_scale(
    scale: int,
    measured: list[MeasuredVariant],
    measurement: Measurement,
    *,
    task: Task,
    dataset: Dataset,
) -> ScaleSummary:
    """One scale's paired statistics against its baseline, and its verdicts."""
    baseline = pick_baseline([m.name for m in measured])
    stats = statistics.compare_variants(
        {m.name: m.point for m in measured},
        {m.name: m.samples for m in measured},
        measurement.metrics,
        plan=measurement.intervals,
        baseline=baseline,
        oracle="hr",
        not_measurable=measurement.not_measurable,
    )
    metric = measurement.headline
    verdicts, power = sr_verdicts(
        stats,
        [m.name for m in measured if m.info.kind in ("sr", "task")],
        metric=metric,
        scale=scale,
        baseline=baseline,
        lower_is_better=metric in task.lower_is_better,
        more_data=task.more_data(dataset.items),
        digits=_digits(stats[name][metric].value.value for name in stats),
    )
    return ScaleSummary(scale, measured, baseline, stats, verdicts, power.to_dict(metric))


def pick_baseline(names: list[str]) -> str | None:
    """bicubic when it ran, else the first classic baseline, else the LR input."""
    for name in ("bicubic", "bilinear", "nearest", "lr"):
        if name in names:
            return name
    return None


def evaluate(
    task: Task, predictions: Sequence[Any], items: Sequence[Item], metrics: Sequence[str]
) -> dict[str, float]:
    """``Task.evaluate``, checked to return every metric."""
    values = task.evaluate(predictions, items) or {}
    missing = [m for m in metrics if m not in values]
    if missing:
        raise SrpipeError(
            f"task {task.name!r}: evaluate() did not return {', '.join(missing)}; it must "
            "return every metric in Task.metrics"
        )
    return {m: float(values[m]) for m in metrics}


def _nanmean(values: np.ndarray) -> float:
    """Mean over the items where the metric is defined (NaN left out, inf kept)."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else math.nan


def _digits(values: Iterable[float]) -> int:
    """Decimals for a metric: 2 for dB-like magnitudes, 4 for fractions (as the papers print)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    return 2 if finite and max(finite) >= 10 else 4
