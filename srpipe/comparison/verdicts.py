"""The sentences a comparison concludes with, and when the set cannot support one.

A verdict about SR compares an SR model with the baseline (bicubic) on the task's headline
metric. It only means something when the set can tell HR from the baseline in the first
place: if even HR is not significantly better than bicubic, an SR model "not differing
from bicubic" says nothing about SR (the set has no power for the question), and an SR
model "beating" bicubic has no gap to recover. So :func:`power` is checked first, once per
scale, and when it fails no SR verdict is given; the line says why and what data would
give the set the power it lacks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from srpipe.comparison.statistics import JACKKNIFE, NO_INTERVAL, Estimate, MetricComparison


@dataclass(frozen=True)
class Power:
    """Whether a set can answer "does SR help?" on one metric at one scale."""

    answerable: bool
    #: why it cannot (empty when it can)
    reason: str = ""
    #: what data would give the set the power it lacks (empty when it can)
    more_data: str = ""

    def to_dict(self, metric: str) -> dict[str, object]:
        return {
            "answerable": self.answerable,
            "metric": metric,
            "reason": self.reason or None,
            "more_data": self.more_data or None,
        }


def _fmt(value: float, digits: int, sign: bool = False) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value * 100:.0f}%"


def _with_ci(est: Estimate, digits: int) -> str:
    text = _fmt(est.value, digits, True)
    if est.has_interval:
        text += f" [{_fmt(est.low, digits, True)}, {_fmt(est.high, digits, True)}]"
    return text


def _method(est: Estimate) -> str:
    """How the interval was made, briefly ("jackknife t, k = 7 clusters")."""
    if not est.method or est.method == NO_INTERVAL:
        return ""
    name = "jackknife t" if est.method == JACKKNIFE else est.method.replace("-", " ")
    return f"{name}, k = {est.k} clusters" if est.k else name


def power(
    oracle: MetricComparison | None,
    *,
    baseline: str,
    lower_is_better: bool = False,
    more_data: str = "",
    digits: int = 3,
) -> Power:
    """Can this set tell whether SR helps on ``oracle.metric``? ``oracle`` is HR's comparison.

    It can when HR is significantly better than ``baseline``, or when HR's own value is
    infinite (PSNR of HR against itself: better by definition).
    """
    if oracle is not None and oracle.not_measurable:
        return Power(
            False, f"{oracle.metric} cannot be measured on this set ({oracle.not_measurable})"
        )
    if oracle is None or oracle.delta is None:
        return Power(True)  # no HR variant: verdicts go without a gap share
    metric = oracle.metric
    delta = oracle.delta
    if math.isinf(delta.value):
        return Power(True)
    where = f"HR vs {baseline} on {metric} is {_with_ci(delta, digits)}"
    how = _method(delta)
    if how:
        where += f" ({how})"
    if not math.isfinite(delta.value) or not delta.has_interval:
        why = delta.note or "no CI"
        return Power(
            False,
            f"{where}, {why}: nobody can tell whether downsampling cost anything, so the set "
            "has no power to say whether SR helps",
            more_data,
        )
    if delta.spans_zero:
        return Power(
            False,
            f"{where}: not significant, so the set cannot even tell HR from {baseline} and has "
            "no power to say whether SR helps",
            more_data,
        )
    hr_better = (delta.value < 0) if lower_is_better else (delta.value > 0)
    if not hr_better:
        return Power(
            False,
            f"{where}: HR is significantly worse than {baseline}, so the task does not reward "
            "resolution here and there is no loss for SR to recover",
        )
    return Power(True)


def no_verdict(labels: Sequence[str], scale: int, status: Power) -> str:
    """The line given instead of SR verdicts when the set cannot answer."""
    names = ", ".join(labels)
    line = f"no verdict on {names} x{scale}: {status.reason}"
    if status.more_data:
        line += f". What would give it power: {status.more_data}"
    return line


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

    ``oracle_delta`` is HR minus baseline; callers check :func:`power` first, so it is
    either significant in HR's favour or infinite (no gap share then).
    """
    delta = comparison.delta
    if comparison.not_measurable:
        return f"{label} x{scale}: {metric} cannot be measured here ({comparison.not_measurable})"
    if delta is None:
        return f"{label} x{scale}: no {baseline} baseline to compare with on {metric}"
    diff = f"{_with_ci(delta, digits)} {metric} vs {baseline}"
    how = _method(delta)
    if how:
        diff += f"; {how}"
    oracle_costs = (
        oracle_delta is not None
        and math.isfinite(oracle_delta.value)
        and not oracle_delta.spans_zero
        and ((oracle_delta.value < 0) if lower_is_better else (oracle_delta.value > 0))
    )
    if math.isfinite(delta.value) and not delta.has_interval:
        why = delta.note or "no CI"
        return f"{label} x{scale}: {diff} ({why}; significance unknown)"
    if delta.spans_zero:
        return f"{label} x{scale}: no significant difference from {baseline} ({diff})"
    better = (delta.value < 0) if lower_is_better else (delta.value > 0)
    gap = comparison.gap
    if better and oracle_costs and gap is not None:
        share = _pct(gap.value)
        if gap.has_interval:
            share += f" [{_pct(gap.low)}, {_pct(gap.high)}]"
        return (
            f"{label} x{scale} recovers {share} of the {metric} lost to x{scale} downsampling "
            f"({diff})"
        )
    if better:
        return f"{label} x{scale} is better than {baseline} ({diff})"
    tail = ""
    if oracle_costs and gap is not None:
        tail = f"; it widens the loss to x{scale} downsampling by {_pct(-gap.value)}"
        if gap.has_interval:
            tail += f" [{_pct(-gap.high)}, {_pct(-gap.low)}]"
    return f"{label} x{scale} is worse than {baseline} ({diff}){tail}"


def sr_verdicts(
    stats: Mapping[str, Mapping[str, MetricComparison]],
    contenders: Sequence[str],
    *,
    metric: str,
    scale: int,
    baseline: str | None,
    lower_is_better: bool = False,
    more_data: str = "",
    digits: int = 3,
) -> tuple[list[str], Power]:
    """Verdict lines for the ``contenders`` (SR and task variants) at one scale, and the power.

    When the set cannot answer (see :func:`power`), one line replaces all the verdicts.
    """
    if baseline is None:
        lines = [
            f"{name} x{scale}: no baseline to compare with (add --compare bicubic)"
            for name in contenders
        ]
        return lines, Power(True)
    oracle = stats.get("hr", {}).get(metric)
    status = power(
        oracle,
        baseline=baseline,
        lower_is_better=lower_is_better,
        more_data=more_data,
        digits=digits,
    )
    if not contenders:
        return [], status
    if not status.answerable:
        return [no_verdict(contenders, scale, status)], status
    oracle_delta = oracle.delta if oracle is not None else None
    lines = [
        verdict(
            name,
            metric,
            stats[name][metric],
            scale=scale,
            baseline=baseline,
            oracle_delta=oracle_delta,
            lower_is_better=lower_is_better,
            digits=digits,
        )
        for name in contenders
    ]
    return lines, status
