"""report.md: the comparison as Markdown (tables, verdicts, plots and crops by link)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from srpipe.atomic import write_text
from srpipe.report import text

if TYPE_CHECKING:
    from srpipe.comparison.results import ComparisonResult


def render(result: ComparisonResult) -> str:
    """The Markdown document."""
    out = [f"# srpipe eval {result.task}: HR vs baselines vs SR", "", text.summary_line(result), ""]
    ds = result.dataset
    if ds.get("description"):
        out += [f"Dataset: {ds['description']}", ""]
    if result.verdicts:
        out += ["## Verdicts", ""] + [f"- {v}" for v in result.verdicts] + [""]
    paper = text.paper_table(result)
    if paper:
        out += ["## In the papers' layout", "", paper, ""]
    out += ["## Results", ""]
    for scale in result.scales:
        for metric in result.metrics:
            out += [f"### x{scale} · {metric} ({text.direction(result, metric)})", ""]
            out += [
                text.markdown_table(
                    text.headers(result, scale), text.metric_rows(result, scale, metric)
                ),
                "",
            ]
            notes = text.metric_notes(result, scale, metric)
            if notes:
                out += [f"- {note}" for note in notes] + [""]
    plots = [(role, rel) for role, rel in result.files.items() if role.startswith("plot_")]
    if plots:
        out += ["## Plots", ""] + [f"![{role[5:]}]({rel})" for role, rel in plots] + [""]
    crops = [(role, rel) for role, rel in result.files.items() if role.startswith("crop_")]
    if crops:
        out += ["## Where SR and the baseline differ most", ""]
        out += [f"![{role[5:]}]({rel})" for role, rel in crops] + [""]
    out += ["## Variants", ""]
    rows = text.variant_rows(result)
    out += [
        text.markdown_table(
            text.VARIANT_HEADERS,
            rows,
        ),
        "",
    ]
    if result.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in result.notes] + [""]
    env = ", ".join(f"{k} {v}" for k, v in result.environment.items() if v)
    out += [
        "## Reproduce",
        "",
        f"- command: `{result.settings.get('command') or '(Python API)'}`",
        f"- seed {result.settings.get('seed')}, {result.settings.get('bootstrap')} resamples, "
        f"degradation: {result.settings.get('degradation')}",
        f"- versions: {env}",
        "",
    ]
    return "\n".join(out)


def write_markdown(result: ComparisonResult, path: Path) -> Path:
    """Write report.md atomically; returns its path."""
    write_text(path, render(result))
    return Path(path)
