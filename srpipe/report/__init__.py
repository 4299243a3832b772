"""Comparison reports: terminal table, report.json, report.md, a self-contained report.html,
and the per-item rows beside them (``items.jsonl.gz``; :func:`read_item_scores` reads them).

Every file is written atomically (temp file in the folder, then rename), and each one
is announced to observers through the ``srpipe_report_written`` hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from srpipe.plugins import call_optional_hook
from srpipe.report import html, json_report, markdown, plots
from srpipe.report.json_report import iter_item_rows, read_item_scores

__all__ = ["announce", "iter_item_rows", "plugin_figures", "read_item_scores", "write_reports"]

if TYPE_CHECKING:
    from srpipe.comparison.results import ComparisonResult


def write_reports(result: ComparisonResult, out: Path) -> dict[str, Path]:
    """Write plots, crops, the items file, report.json, report.md and report.html into ``out``.

    Returns the written files by role; ``result.files`` gets the same, relative to ``out``.
    """

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    files.update(plots.write_plots(result, out))
    files.update(plots.write_crops(result, out))
    # first: report.json records its sha256, and plugins' figures may read its rows
    files["items"] = json_report.write_items_file(result, out)
    result.files = {role: str(path.relative_to(out)) for role, path in files.items()}
    result.files.update({"json": "report.json", "markdown": "report.md", "html": "report.html"})
    files["json"] = json_report.write_json_report(result, out / "report.json")
    figures = plugin_figures(files["json"], out)
    if figures:  # list them in report.json too, then embed them in the md/html plots
        for path in figures:
            files[f"plot_{path.stem}"] = path
            result.files[f"plot_{path.stem}"] = str(path.relative_to(out))
        json_report.write_json_report(result, out / "report.json")
    files["markdown"] = markdown.write_markdown(result, out / "report.md")
    files["html"] = html.write_html(result, out / "report.html")
    for role, path in files.items():
        kind = role if role in ("json", "markdown", "html") else "png"
        kind = "jsonl.gz" if role == "items" else kind
        announce(path, kind)
    return files


def plugin_figures(report_json: Path, out: Path) -> list[Path]:
    """Figures that plugins draw for this report (``srpipe_report_figures``), inside ``out``."""

    found: list[Path] = []
    for batch in call_optional_hook("srpipe_report_figures", report_json=report_json, out=out):
        for path in batch or []:
            path = Path(path)
            if path.exists() and path.resolve().is_relative_to(out.resolve()):
                found.append(path)
    return found


def announce(path: Path, kind: str) -> None:
    """Tell observers (``srpipe_report_written``) that ``path`` was written."""
    call_optional_hook("srpipe_report_written", path=Path(path), kind=kind)
