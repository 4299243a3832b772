"""report.html: one self-contained page (plots and crops embedded as base64 PNG).

A single file that can be mailed or attached to a ticket: no external CSS, scripts,
fonts or images. The numbers come from the same cells as the terminal and Markdown.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from srpipe.atomic import write_text
from srpipe.comparison.results import (
    VARIANT_HEADERS,
    ComparisonResult,
    direction,
    headers,
    metric_notes,
    metric_rows,
    paper_cells,
    summary_line,
    variant_rows,
)

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;line-height:1.4;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
h3{font-size:1rem;margin-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;white-space:nowrap}
th{background:#f4f4f4}tr.sr td{background:#fff4ec}tr.oracle td{color:#555}
ul.verdicts li{margin:.3rem 0}.muted{color:#666;font-size:.85rem}
img{max-width:100%;border:1px solid #eee;margin:.4rem 0}
"""


def _table(head: list[str], rows: list[list[str]], kinds: list[str] | None = None) -> str:
    parts = ["<table><thead><tr>"]
    parts += [f"<th>{html.escape(h)}</th>" for h in head]
    parts.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        cls = f' class="{html.escape(kinds[i])}"' if kinds else ""
        parts.append(
            f"<tr{cls}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
        )
    parts.append("</tbody></table>")
    return "".join(parts)


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def render(result: ComparisonResult, out: Path) -> str:
    """The HTML document; images are read from ``out`` (as listed in ``result.files``)."""
    esc = html.escape
    body = [
        f"<h1>srpipe eval {esc(result.task)}: HR vs baselines vs SR</h1>",
        f'<p class="muted">{esc(summary_line(result))}</p>',
    ]
    if result.dataset.get("description"):
        body.append(f"<p>Dataset: {esc(result.dataset['description'])}</p>")
    if result.verdicts:
        body.append('<h2>Verdicts</h2><ul class="verdicts">')
        body += [f"<li>{esc(v)}</li>" for v in result.verdicts]
        body.append("</ul>")
    paper = paper_cells(result)
    if paper:
        body += ["<h2>In the papers' layout</h2>", _table(*paper)]
    body.append("<h2>Results</h2>")
    for scale in result.scales:
        kinds = [v.kind for v in result.variants[scale]]
        for metric in result.metrics:
            body.append(f"<h3>x{scale} · {esc(metric)} ({direction(result, metric)})</h3>")
            body.append(_table(headers(result, scale), metric_rows(result, scale, metric), kinds))
            notes = metric_notes(result, scale, metric)
            if notes:
                body.append(
                    '<ul class="muted">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"
                )
    images = [
        (role, rel) for role, rel in result.files.items() if role.startswith(("plot_", "crop_"))
    ]
    plots = [(r, p) for r, p in images if r.startswith("plot_")]
    crops = [(r, p) for r, p in images if r.startswith("crop_")]
    if plots:
        body.append("<h2>Plots</h2>")
        body += [_image(out / rel, role[5:]) for role, rel in plots]
    if crops:
        body.append("<h2>Where SR and the baseline differ most</h2>")
        body.append(
            '<p class="muted">HR / baseline / SR, annotated by the task, cropped where '
            "the two upscaled images differ most.</p>"
        )
        body += [_image(out / rel, role[5:]) for role, rel in crops]
    rows = variant_rows(result)
    body += [
        "<h2>Variants</h2>",
        _table(
            VARIANT_HEADERS,
            rows,
        ),
    ]
    if result.notes:
        body.append(
            "<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in result.notes) + "</ul>"
        )
    env = ", ".join(f"{k} {v}" for k, v in result.environment.items() if v)
    body += [
        "<h2>Reproduce</h2>",
        f"<p><code>{esc(result.settings.get('command') or '(Python API)')}</code></p>",
        f'<p class="muted">seed {esc(str(result.settings.get("seed")))}, '
        f"{esc(str(result.settings.get('bootstrap')))} bootstrap resamples; "
        f"{esc(str(result.settings.get('degradation')))}; {esc(env)}</p>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>srpipe eval {esc(result.task)}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_html(result: ComparisonResult, path: Path) -> Path:
    """Write report.html atomically; returns its path."""
    path = Path(path)
    write_text(path, render(result, path.parent))
    return path
