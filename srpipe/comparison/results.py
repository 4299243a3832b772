"""What a comparison measured: the result types, whose ``to_dict()`` is report.json.

A leaf of the evaluation: the harness (:mod:`srpipe.comparison.harness`) fills these in, the
reports (:mod:`srpipe.report`) read them, and neither needs the other to do so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srpipe.comparison.statistics import MetricComparison
from srpipe.report import text as report_text

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
    item_scores: dict[int, dict[str, list[dict[str, Any]]]]
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
            "format": "srpipe-comparison/1",
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
            "item_scores": {
                f"x{s}": {name: rows for name, rows in per.items()}
                for s, per in self.item_scores.items()
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
        return report_text.comparison_table(self)

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
        return report_text.paper_table(self)


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
