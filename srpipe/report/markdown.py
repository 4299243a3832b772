"""report.md: the comparison as Markdown (tables, verdicts, plots and crops by link)."""

from __future__ import annotations

from pathlib import Path

from srpipe.atomic import write_text
from srpipe.comparison.results import (
    VARIANT_HEADERS,
    ComparisonResult,
    direction,
    headers,
    markdown_table,
    metric_notes,
    metric_rows,
    paper_table,
    summary_line,
    variant_rows,
)


def render(result: ComparisonResult) -> str:
    """The Markdown document."""
    out = [f"# srpipe eval {result.task}: HR vs baselines vs SR", "", summary_line(result), ""]
    ds = result.dataset
    if ds.get("description"):
        out += [f"Dataset: {ds['description']}", ""]
    if result.verdicts:
        out += ["## Verdicts", ""] + [f"- {v}" for v in result.verdicts] + [""]
    paper = paper_table(result)
    if paper:
        out += ["## In the papers' layout", "", paper, ""]
    out += ["## Results", ""]
    for scale in result.scales:
        for metric in result.metrics:
            out += [f"### x{scale} · {metric} ({direction(result, metric)})", ""]
            out += [
                markdown_table(headers(result, scale), metric_rows(result, scale, metric)),
                "",
            ]
            notes = metric_notes(result, scale, metric)
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
    rows = variant_rows(result)
    out += [
        markdown_table(
            VARIANT_HEADERS,
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
