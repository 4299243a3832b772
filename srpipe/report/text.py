"""The comparison as text: formatted cells, the terminal table and the papers' table layout.

The same cells feed the terminal, report.md and report.html, so the three always agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from srpipe.comparison.results import ComparisonResult
    from srpipe.comparison.statistics import Estimate

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
