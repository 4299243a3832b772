"""The report's pictures: metric per variant with CI bars, PSNR vs task metric, metric vs
scale, and the visual crops. PNG files, written atomically.

matplotlib is used through ``Figure`` + the Agg canvas directly, never ``pyplot``, so no
global backend or figure state leaks into the user's process.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srpipe.atomic import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from srpipe.comparison.results import ComparisonResult

#: colour per variant kind (oracle, baselines, SR models, plugin variants)
KIND_COLOURS = {"oracle": "#4d4d4d", "baseline": "#9ecae1", "sr": "#e6550d", "task": "#31a354"}


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))[:80] or "item"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def metric_bars(result: ComparisonResult, metric: str) -> Figure:
    """One panel per scale: the metric per variant as a point with its 95% CI as error bars.

    Points rather than bars: a bar drawn from a non-zero axis start exaggerates differences,
    and a bar from zero hides them (PSNRs of 28 vs 30 dB).
    """
    scales = result.scales
    per_panel = max(4.0, 1.5 + 0.8 * max(len(result.variants[s]) for s in scales))
    fig = _figure(per_panel * len(scales), 3.4)
    axes = fig.subplots(1, len(scales), squeeze=False)[0]
    for ax, scale in zip(axes, scales):
        infos = result.variants[scale]
        positions = list(range(len(infos)))
        undefined = []
        for x, info in zip(positions, infos):
            est = result.stats[scale][info.name][metric].value
            if not _finite(est.value):
                undefined.append((x, "∞" if est.value == float("inf") else "n/a"))
                continue
            err = [
                [est.value - est.low if _finite(est.low) else 0.0],
                [est.high - est.value if _finite(est.high) else 0.0],
            ]
            ax.errorbar(
                [x],
                [est.value],
                yerr=err,
                fmt="o",
                capsize=5,
                markersize=7,
                color=KIND_COLOURS.get(info.kind, "#bbbbbb"),
                markeredgecolor="black",
            )
        for x, label in undefined:
            ax.annotate(
                label,
                (x, 0.5),
                xycoords=("data", "axes fraction"),
                ha="center",
                color=KIND_COLOURS["oracle"],
            )
        ax.set_xlim(-0.6, len(infos) - 0.4)
        ax.set_xticks(positions, [i.name for i in infos], rotation=30, ha="right")
        ax.set_title(f"x{scale}")
        ax.set_ylabel(
            f"{metric} ({'lower' if metric in result.lower_is_better else 'higher'} is better)"
        )
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{result.task}: {metric} per variant (95% CI)")
    return fig


def tradeoff_metric(result: ComparisonResult) -> str | None:
    """The task metric plotted against PSNR: the headline, unless the headline *is* PSNR."""
    for metric in result.metrics:
        if metric.lower() != "psnr":
            return metric
    return None


def psnr_vs_metric(result: ComparisonResult, metric: str) -> Figure | None:
    """Image fidelity (PSNR vs HR) against the task metric, one point per variant and scale."""
    points = []
    for scale in result.scales:
        for info in result.variants[scale]:
            psnr = result.psnr[scale].get(info.name)
            est = result.stats[scale][info.name][metric].value
            if _finite(psnr) and _finite(est.value):
                points.append((scale, info, psnr, est))
    if not points:
        return None
    fig = _figure(5.5, 4.0)
    ax = fig.subplots()
    markers = "osD^v<>p*h"
    oracle_lines: dict[float, list[str]] = {}
    for scale in result.scales:
        oracle = result.stats[scale].get("hr", {}).get(metric)
        if oracle is not None and _finite(oracle.value.value):
            oracle_lines.setdefault(round(oracle.value.value, 6), []).append(f"x{scale}")
    for value, labels in oracle_lines.items():
        ax.axhline(value, ls="--", lw=1, color=KIND_COLOURS["oracle"])
        ax.annotate(
            f"HR {', '.join(labels)}",
            (0.01, value),
            xycoords=("axes fraction", "data"),
            fontsize=8,
            va="bottom",
        )
    for scale, info, psnr, est in points:
        marker = markers[result.scales.index(scale) % len(markers)]
        err = [
            [est.value - est.low if _finite(est.low) else 0.0],
            [est.high - est.value if _finite(est.high) else 0.0],
        ]
        ax.errorbar(
            [psnr],
            [est.value],
            yerr=err,
            fmt=marker,
            capsize=3,
            color=KIND_COLOURS.get(info.kind, "#bbbbbb"),
            markeredgecolor="black",
        )
        ax.annotate(
            f"{info.name} x{scale}",
            (psnr, est.value),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
        )
    ax.set_xlabel("PSNR vs HR (Y, dB)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.set_title(f"Does fidelity predict {metric}?")
    return fig


def metric_vs_scale(result: ComparisonResult, metric: str) -> Figure | None:
    """The metric against the scale, one line (with CI band) per variant; needs >= 2 scales."""
    if len(result.scales) < 2:
        return None
    fig = _figure(5.5, 4.0)
    ax = fig.subplots()
    names: list[str] = []
    for scale in result.scales:
        names += [n for n in result.variant_names(scale) if n not in names]
    for name in names:
        xs, ys, lo, hi = [], [], [], []
        kind = "baseline"
        for scale in result.scales:
            comp = result.stats[scale].get(name, {}).get(metric)
            if comp is None or not _finite(comp.value.value):
                continue
            kind = next(i.kind for i in result.variants[scale] if i.name == name)
            xs.append(scale)
            ys.append(comp.value.value)
            lo.append(comp.value.low if _finite(comp.value.low) else comp.value.value)
            hi.append(comp.value.high if _finite(comp.value.high) else comp.value.value)
        if not xs:
            continue
        line = ax.plot(xs, ys, marker="o", label=name, ls="--" if kind == "oracle" else "-")[0]
        ax.fill_between(xs, lo, hi, alpha=0.15, color=line.get_color())
    ax.set_xticks(result.scales, [f"x{s}" for s in result.scales])
    ax.set_xlabel("downscaling factor")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{metric} vs scale (95% CI bands)")
    return fig


def write_plots(result: ComparisonResult, out: Path) -> dict[str, Path]:
    """Every plot of the report as ``out/plots/*.png``; returns role -> path."""
    files: dict[str, Path] = {}
    folder = out / "plots"
    for metric in result.metrics:
        files[f"plot_{metric}"] = _save(
            metric_bars(result, metric), folder / f"{_slug(metric)}_per_variant.png"
        )
    metric = tradeoff_metric(result)
    if metric is not None:
        fig = psnr_vs_metric(result, metric)
        if fig is not None:
            files["plot_psnr_vs_metric"] = _save(fig, folder / f"psnr_vs_{_slug(metric)}.png")
    fig = metric_vs_scale(result, result.headline)
    if fig is not None:
        files["plot_vs_scale"] = _save(fig, folder / f"{_slug(result.headline)}_vs_scale.png")
    return files


def crop_figure(crop: Any) -> Figure:
    """HR / baseline / SR crops side by side, titled, with their item scores as captions."""
    n = len(crop.panels)
    h, w = crop.panels[0][1].shape[:2]
    panel_w = 3.0
    fig = _figure(panel_w * n, panel_w * h / max(w, 1) + 0.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (label, image, caption) in zip(axes, crop.panels):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(caption, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    y0, x0, y1, x1 = crop.window
    fig.suptitle(
        f"{crop.item_id} x{crop.scale}  (window y{y0}:{y1} x{x0}:{x1}; {crop.reason})", fontsize=9
    )
    return fig


def write_crops(result: ComparisonResult, out: Path) -> dict[str, Path]:
    """Every crop as ``out/crops/x<scale>_<item>.png``; returns role -> path."""
    files: dict[str, Path] = {}
    for crop in result.crops:
        item = crop.item_id.removesuffix(Path(crop.item_id).suffix)  # "val/a.png" -> "val/a"
        name = f"x{crop.scale}_{_slug(item)}"
        files[f"crop_{name}"] = _save(crop_figure(crop), out / "crops" / f"{name}.png")
    return files
