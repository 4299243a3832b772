"""What a comparison measured: the result types, whose ``to_dict()`` is report.json, and
the text cells that show them.

A leaf of the evaluation: the harness (:mod:`srpipe.comparison.harness`) fills these in, the
reports (:mod:`srpipe.report`) read them, and neither needs the other to do so. The cells
(formatted numbers, the terminal table, the papers' layout) live here rather than in
:mod:`srpipe.report` because ``ComparisonResult.table()`` is part of the result's API: the
terminal, report.md and report.html all read the same cells, so the three always agree,
and the result types import nothing above them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srpipe.comparison.items import ITEMS_FORMAT, ItemStream, by_scale_and_variant
from srpipe.comparison.statistics import Estimate, MetricComparison

#: variant kinds in report order
KIND_ORDER = ("oracle", "baseline", "sr", "task")


@dataclass
class VariantInfo:
    """What was run for one variant at one scale (shown in the report)."""

    name: str
    scale: int
    kind: str
    method: str | None = None
    weights_hash: str | None = None
    to_hr: float = 1.0
    #: the precision an SR model ran in and why (None: no network ran)
    precision: str | None = None
    precision_reason: str | None = None
    items: int = 0
    seconds_image: float = 0.0  # making the images (upscaling, cache reads)
    seconds_predict: float = 0.0
    cache_hits: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["seconds_image"] = round(self.seconds_image, 3)
        data["seconds_predict"] = round(self.seconds_predict, 3)
        return data


@dataclass
class Crop:
    """A visual comparison of one item: annotated HR / baseline / SR crops side by side."""

    scale: int
    item_id: str
    window: tuple[int, int, int, int]  # y0, x0, y1, x1 in HR pixels
    panels: list[tuple[str, np.ndarray, str]]  # (label, RGB crop, caption)
    reason: str


@dataclass
class ComparisonResult:
    """Everything a comparison measured; ``to_dict()`` is the content of report.json."""

    task: str
    metrics: tuple[str, ...]
    lower_is_better: frozenset[str]
    dataset: dict[str, Any]
    scales: list[int]
    variants: dict[int, list[VariantInfo]]
    stats: dict[int, dict[str, dict[str, MetricComparison]]]
    psnr: dict[int, dict[str, float | None]]
    #: every per-item row, spooled in report order (written beside report.json as its items file)
    items: ItemStream
    baseline: dict[int, str | None]
    verdicts: list[str]
    notes: list[str]
    settings: dict[str, Any]
    environment: dict[str, Any]
    paper_metrics: tuple[str, ...] | None = None
    crops: list[Crop] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    #: per scale: can the set tell whether SR helps (srpipe.comparison.verdicts.Power.to_dict)
    power: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: the items file once written: ``file`` (relative to report.json) and its ``sha256``
    items_file: dict[str, str] = field(default_factory=dict)

    @property
    def headline(self) -> str:
        """The task's first metric: the one verdicts talk about."""
        return self.metrics[0]

    def variant_names(self, scale: int) -> list[str]:
        """Variant names at ``scale`` in report order."""
        return [v.name for v in self.variants.get(scale, [])]

    def value(self, variant: str, metric: str | None = None, scale: int | None = None) -> float:
        """The full-data value of ``metric`` (default: the headline) for ``variant``."""
        scale = self.scales[0] if scale is None else scale
        return self.stats[scale][variant][metric or self.headline].value.value

    def comparison(
        self, variant: str, metric: str | None = None, scale: int | None = None
    ) -> MetricComparison:
        """Value, delta and gap share (with CIs) of one variant's metric."""
        scale = self.scales[0] if scale is None else scale
        return self.stats[scale][variant][metric or self.headline]

    def item_scores(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Every per-item row as ``{"x4": {variant: [row, ...]}}``, read from the spool.

        A row is ``id``, ``group``, ``psnr_vs_hr``, ``scores`` (and ``prediction`` when the
        task describes one). It holds every row in memory: for a big set iterate
        ``result.items`` (one row at a time) instead.
        """
        return by_scale_and_variant(self.items)

    def results(self) -> list[dict[str, Any]]:
        """A flat row per (scale, variant, metric): the numbers of every table."""
        rows = []
        for scale in self.scales:
            for info in self.variants[scale]:
                for metric in self.metrics:
                    comp = self.stats[scale][info.name][metric]
                    rows.append(
                        {
                            "scale": scale,
                            "variant": info.name,
                            "kind": info.kind,
                            "psnr_vs_hr": self.psnr[scale].get(info.name),
                            **comp.to_dict(),
                        }
                    )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Every number and setting, JSON-ready (non-finite floats become null)."""
        return {
            "format": "srpipe-comparison/2",
            "task": {
                "name": self.task,
                "metrics": list(self.metrics),
                "headline": self.headline,
                "lower_is_better": sorted(self.lower_is_better),
            },
            "dataset": self.dataset,
            "settings": self.settings,
            "environment": self.environment,
            "scales": self.scales,
            "baseline": {f"x{s}": b for s, b in self.baseline.items()},
            "variants": [v.to_dict() for s in self.scales for v in self.variants[s]],
            "results": self.results(),
            "verdicts": self.verdicts,
            "power": {f"x{s}": p for s, p in self.power.items()},
            "notes": self.notes,
            "paper_table": self.paper_table_rows(),
            # the rows themselves are in the items file: report.json stays small at any N
            "items": {
                "file": self.items_file.get("file"),
                "sha256": self.items_file.get("sha256"),
                "rows": self.items.rows,
                "format": ITEMS_FORMAT,
            },
            "crops": [
                {
                    "scale": c.scale,
                    "item": c.item_id,
                    "window": list(c.window),
                    "reason": c.reason,
                    "panels": [label for label, _, _ in c.panels],
                }
                for c in self.crops
            ],
            "files": self.files,
        }

    # -- text output -----------------------------------------------------------------
    def table(self) -> str:
        """The terminal table: per scale and metric, value / delta / gap with CIs, then verdicts."""
        return comparison_table(self)

    def paper_table_rows(self) -> list[dict[str, Any]] | None:
        """Rows of the papers' layout (methods x datasets, "PSNR/SSIM") when the task has one."""
        if not self.paper_metrics:
            return None
        rows = []
        names: list[str] = []
        for scale in self.scales:
            names += [n for n in self.variant_names(scale) if n not in names]
        for name in names:
            if name in ("hr", "lr"):
                continue  # the papers list methods only; HR scores itself perfectly
            cells = {}
            for scale in self.scales:
                per = self.stats.get(scale, {}).get(name)
                if per is None:
                    continue
                cells[f"{self.dataset['name']} x{scale}"] = [
                    per[m].value.value if m in per else None for m in self.paper_metrics
                ]
            rows.append({"method": name, "cells": cells})
        return rows

    def paper_table(self) -> str | None:
        """The papers' table as Markdown (rows = methods, columns = dataset x scale)."""
        return paper_table(self)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: containers kept, anything unknown as its ``str``."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):  # numpy scalars a task returns: their Python value
        return value.item()
    return str(value)


# -- the text cells: terminal, report.md and report.html read the same ones -------------
HEADERS = ("variant", "kind", "value [95% CI]", "Δ vs {baseline} [95% CI]", "gap recovered")


def digits_for(result: ComparisonResult, metric: str) -> int:
    """Decimals for ``metric``: 2 for dB-like magnitudes, 4 for fractions (as papers print)."""
    values = [
        per[metric].value.value
        for stats in result.stats.values()
        for per in stats.values()
        if metric in per and math.isfinite(per[metric].value.value)
    ]
    return 2 if values and max(abs(v) for v in values) >= 10 else 4


def number(value: float | None, digits: int, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "inf" if value is not None and math.isinf(value) and value > 0 else "n/a"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def with_ci(est: Estimate | None, digits: int, sign: bool = False) -> str:
    if est is None:
        return "-"
    text = number(est.value, digits, sign)
    if math.isfinite(est.low) and math.isfinite(est.high):
        text += f" [{number(est.low, digits, sign)}, {number(est.high, digits, sign)}]"
    return text


def percent(est: Estimate | None) -> str:
    if est is None or not math.isfinite(est.value):
        return "-"
    text = f"{est.value * 100:.0f}%"
    if math.isfinite(est.low) and math.isfinite(est.high):
        text += f" [{est.low * 100:.0f}%, {est.high * 100:.0f}%]"
    return text


#: what a metric the set cannot measure shows instead of a number
NOT_MEASURABLE = "n/m"


def metric_rows(result: ComparisonResult, scale: int, metric: str) -> list[list[str]]:
    """Cells of one (scale, metric) block: variant, kind, value, delta, gap."""
    digits = digits_for(result, metric)
    rows = []
    for info in result.variants[scale]:
        comp = result.stats[scale][info.name][metric]
        if comp.not_measurable:
            delta = "-" if info.name == result.baseline.get(scale) else NOT_MEASURABLE
            rows.append([info.name, info.kind, NOT_MEASURABLE, delta, "-"])
            continue
        rows.append(
            [
                info.name,
                info.kind,
                with_ci(comp.value, digits),
                with_ci(comp.delta, digits, sign=True),
                percent(comp.gap),
            ]
        )
    return rows


def metric_notes(result: ComparisonResult, scale: int, metric: str) -> list[str]:
    """Why a block has "n/m" cells or missing/conditional intervals, one line per reason."""
    measurable: list[str] = []
    by_note: dict[str, list[str]] = {}
    total = 0
    for info in result.variants[scale]:
        comp = result.stats[scale][info.name][metric]
        if comp.not_measurable:
            line = f"{NOT_MEASURABLE} = not measurable on this set: {comp.not_measurable}"
            if line not in measurable:
                measurable.append(line)
            continue
        for part, est in (("value", comp.value), ("Δ", comp.delta), ("gap", comp.gap)):
            if est is None or not math.isfinite(est.value):
                continue
            total += 1
            # a run-wide reason (no intervals at all) is said once, in the summary line
            if est.note and est.method != "none":
                by_note.setdefault(est.note, []).append(f"{info.name} {part}")
    notes = list(measurable)
    for note, where in by_note.items():
        notes.append(f"{'every number' if len(where) == total else ', '.join(where)}: {note}")
    return notes


def headers(result: ComparisonResult, scale: int) -> list[str]:
    baseline = result.baseline.get(scale) or "baseline"
    return [h.format(baseline=baseline) for h in HEADERS]


def direction(result: ComparisonResult, metric: str) -> str:
    return "lower is better" if metric in result.lower_is_better else "higher is better"


def summary_line(result: ComparisonResult) -> str:
    ds = result.dataset
    groups = f" in {ds['groups']} groups" if ds.get("groups") else ""
    conf = round(100 * result.settings.get("confidence", 0.95))
    plan = result.settings.get("intervals")
    if plan:
        how = f"k = {plan['k']} independent clusters · paired {conf}% CI: {plan['description']}"
    else:
        kind = result.settings.get("bootstrap_kind", "item")
        how = f"{result.settings.get('bootstrap')} paired {kind} bootstrap resamples, {conf}% CI"
    return (
        f"task {result.task} · dataset {ds['name']} ({ds['items']} items{groups}) · {how}, "
        f"seed {result.settings.get('seed')}"
    )


def _grid(head: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows)]
    lines = [indent + "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    lines.append(indent + "  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(indent + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return lines


def comparison_table(result: ComparisonResult) -> str:
    """The terminal table: a block per scale and metric, then verdicts and notes."""
    lines = [summary_line(result)]
    for scale in result.scales:
        for metric in result.metrics:
            lines.append("")
            lines.append(f"x{scale} · {metric} ({direction(result, metric)})")
            lines += _grid(headers(result, scale), metric_rows(result, scale, metric))
            lines += [f"  * {note}" for note in metric_notes(result, scale, metric)]
    paper = paper_table(result)
    if paper:
        lines += ["", "In the papers' layout:", paper]
    if result.verdicts:
        lines += ["", "Verdicts:"] + [f"  {v}" for v in result.verdicts]
    if result.notes:
        lines += ["", "Notes:"] + [f"  {n}" for n in result.notes]
    return "\n".join(lines)


def paper_cells(
    result: ComparisonResult | Sequence[ComparisonResult],
) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows of the papers' table: methods x (dataset, scale), "PSNR/SSIM" cells.

    Several results (e.g. one per benchmark: Set5, Set14, ...) become one table with a
    column per dataset and scale, as in the papers.
    """
    results = [result] if not isinstance(result, Sequence) else list(result)
    results = [r for r in results if r.paper_metrics and r.paper_table_rows()]
    if not results:
        return None
    metrics = results[0].paper_metrics
    columns: list[str] = []
    methods: list[str] = []
    values: dict[tuple[str, str], list[float | None]] = {}
    for res in results:
        for row in res.paper_table_rows() or []:
            if row["method"] not in methods:
                methods.append(row["method"])
            for column, cell in row["cells"].items():
                if column not in columns:
                    columns.append(column)
                values[(row["method"], column)] = cell
    digits = [max(digits_for(r, m) for r in results) for m in metrics]
    body = []
    for method in methods:
        cells = [method]
        for column in columns:
            cell = values.get((method, column))
            cells.append(
                "-" if cell is None else "/".join(number(v, d) for v, d in zip(cell, digits))
            )
        body.append(cells)
    head = ["method", *[f"{c} ({'/'.join(metrics)})" for c in columns]]
    return head, body


VARIANT_HEADERS = [
    "variant",
    "scale",
    "kind",
    "method",
    "weights sha256",
    "precision",
    "items",
    "image s",
    "predict s",
    "cache hits",
    "notes",
]


def variant_rows(result: ComparisonResult) -> list[list[str]]:
    """One row per variant and scale: how it was made, how long it took, cache hits."""
    return [
        [
            v.name,
            f"x{v.scale}",
            v.kind,
            v.method or "-",
            (v.weights_hash or "-")[:12],
            v.precision or "-",
            str(v.items),
            f"{v.seconds_image:.2f}",
            f"{v.seconds_predict:.2f}",
            str(v.cache_hits),
            "; ".join(v.notes),
        ]
        for s in result.scales
        for v in result.variants[s]
    ]


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def paper_table(result: ComparisonResult | Sequence[ComparisonResult]) -> str | None:
    """The papers' table as Markdown (one result or several datasets), or None without one."""
    cells = paper_cells(result)
    return None if cells is None else markdown_table(*cells)
