"""One page over several comparison reports (what `make demo` leaves behind).

Each stage of the demo writes its own full report (report.json / .md / .html); this page
puts the headline of each side by side: the headline metric per variant with its CI, the
share of the HR-vs-baseline gap each SR model recovers, the verdicts, one plot and one crop,
and a link to the full report.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srpipe import atomic
from srpipe.comparison.results import number


@dataclass
class Section:
    """One stage of the combined report."""

    title: str
    command: str
    report_dir: Path | None = None  # folder holding report.json (an eval stage)
    summary: dict[str, Any] | None = None  # a run stage's summary.json
    error: str | None = None
    seconds: float = 0.0
    extra: list[str] = field(default_factory=list)


def headline_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the headline metric: variant, kind, value/CI, delta/CI, gap recovered/CI."""
    metric = report["task"]["headline"]
    return [r for r in report["results"] if r["metric"] == metric]


def _fmt(cell: dict[str, Any] | None, percent: bool = False, sign: bool = False) -> str:
    """A JSON estimate ``{value, low, high}`` as "v [low, high]" (the terminal's digits)."""

    if not cell or cell.get("value") is None:
        return "-"
    value, low, high = cell["value"], cell.get("low"), cell.get("high")
    if percent:
        text = f"{100 * value:.0f}%"
        return text if low is None else f"{text} [{100 * low:.0f}%, {100 * high:.0f}%]"
    digits = 2 if abs(value) >= 10 else 4
    text = number(value, digits, sign)
    if low is None or high is None:
        return text
    return f"{text} [{number(low, digits, sign)}, {number(high, digits, sign)}]"


def summary_rows(sections: list[Section]) -> list[dict[str, str]]:
    """The top-level table: per task and SR model, the share of the gap recovered with CI."""
    rows = []
    for section in sections:
        report = _load(section)
        if report is None:
            continue
        for r in headline_rows(report):
            if r["kind"] not in ("sr", "task"):
                continue
            rows.append(
                {
                    "task": report["task"]["name"],
                    "dataset": report["dataset"]["name"],
                    "scale": f"x{r['scale']}",
                    "variant": r["variant"],
                    "metric": r["metric"],
                    "value": _fmt(r["value"]),
                    "delta_vs_baseline": _fmt(r["delta"], sign=True),
                    "gap_recovered": _fmt(r.get("gap_recovered"), percent=True),
                }
            )
    return rows


def _load(section: Section) -> dict[str, Any] | None:
    if section.report_dir is None:
        return None
    path = section.report_dir / "report.json"
    return json.loads(path.read_text()) if path.exists() else None


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "<p>(no rows)</p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_combined(sections: list[Section], out: Path, title: str = "srpipe demo") -> Path:
    """Write ``out/index.html`` (self-contained) and ``out/summary.json``; return the HTML path."""
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        "<p>Does super-resolution help the downstream task? Each section runs the same task "
        "model on HR (upper bound), bicubic-upscaled and SR-upscaled inputs; intervals are "
        "95% paired CIs, made according to the number of independent clusters k in each "
        "section (docs/statistics.md).</p>",
        "<h2>Share of the HR-vs-bicubic gap recovered</h2>",
        _table(summary_rows(sections)),
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts.append(f"<pre>$ {html.escape(section.command)}</pre>")
        if section.error:
            parts.append(f'<p class="error">failed: {html.escape(section.error)}</p>')
            continue
        report = _load(section)
        if report is not None:
            rows = [
                {
                    "scale": f"x{r['scale']}",
                    "variant": r["variant"],
                    "kind": r["kind"],
                    r["metric"]: _fmt(r["value"]),
                    "Δ vs baseline": _fmt(r["delta"], sign=True),
                    "gap recovered": _fmt(r.get("gap_recovered"), percent=True),
                }
                for r in headline_rows(report)
            ]
            parts.append(f"<p>{html.escape(report['dataset'].get('description', ''))}</p>")
            parts.append(_table(rows))
            parts.append(
                "<ul>"
                + "".join(f"<li>{html.escape(v)}</li>" for v in report.get("verdicts", []))
                + "</ul>"
            )
            files = report.get("files", {})
            pictures = [k for k in files if k.startswith("plot_")][:1]
            pictures += [k for k in files if k.startswith("crop_")][:1]
            for key in pictures:
                path = section.report_dir / files[key]
                if path.exists():
                    parts.append(_img(path, key))
            link = (section.report_dir / "report.html").resolve().as_uri()
            parts.append(f'<p><a href="{link}">full report</a></p>')
        if section.summary is not None:
            parts.append(f"<pre>{html.escape(json.dumps(section.summary, indent=2))}</pre>")
        for line in section.extra:
            parts.append(f"<p>{html.escape(line)}</p>")
        parts.append(f"<p><small>{section.seconds:.0f} s</small></p>")
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:left}img{max-width:100%;margin:0.5em 0}"
        "pre{background:#f6f6f6;padding:0.5em;overflow-x:auto}.error{color:#b00}"
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )
    index = atomic.write_text(out / "index.html", page)
    atomic.write_json(
        out / "summary.json",
        {
            "summary": summary_rows(sections),
            "sections": [
                {
                    "title": s.title,
                    "command": s.command,
                    "report": str(s.report_dir / "report.json") if s.report_dir else None,
                    "run_summary": s.summary,
                    "error": s.error,
                    "seconds": round(s.seconds, 1),
                }
                for s in sections
            ],
        },
    )
    return index
