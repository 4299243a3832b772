#!/usr/bin/env python
"""Write the published result tables from the committed report.json files, never by hand.

Every number in the README's results section and in experiments/README.md's summary is
generated here from ``experiments/demo/<task>/report.json`` (what ``make demo`` writes), so a
table cannot drift from the run it reports: ``--check`` fails when a file differs from what
the reports say (tests/test_published_numbers.py runs it).

    python scripts/publish_results.py            # rewrite the marked blocks
    python scripts/publish_results.py --check    # exit 1 if any block is stale

A block sits between ``<!-- results:NAME:begin -->`` and ``<!-- results:NAME:end -->``.
NAME is ``summary`` (the demo's tasks), ``detector`` (the bundled detector's training
record), ``perceptual`` (the perceptual experiment's table, made by
experiments/perceptual/make_table.py from its reports), or ``report:PATH`` (every metric of
one report.json, PATH relative to the repo).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "experiments" / "demo"
TASKS = ("sr", "detect", "detect-real", "faces", "video", "action")
#: what each task's row is called in the tables
LABELS = {
    "sr": "sr",
    "detect": "detect",
    "detect-real": "detect, real footage (agreement with HR detections)",
    "faces": "faces",
    "video": "video",
    "action": "action (camera-motion proxy: labels by construction, not Kinetics)",
}


def load_reports(root: Path = DEMO) -> dict[str, dict[str, Any]]:
    """task -> report.json of the demo run (tasks without a report are left out)."""
    reports = {}
    for task in TASKS:
        path = root / task / "report.json"
        if path.is_file():
            reports[task] = json.loads(path.read_text())
    return reports


def _digits(metric: str) -> int:
    return 2 if "psnr" in metric.lower() else 3


def _num(value: float | None, digits: int, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/m"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _ci(est: dict | None, digits: int, sign: bool = False, pct: bool = False) -> str:
    """``v [lo, hi]`` from an estimate dict; the interval is left out when the report has
    none (too few clusters, or intervals off), and the report's own notes say why."""
    if not est or est.get("value") is None:
        return "n/m"
    scale = 100.0 if pct else 1.0
    unit = "%" if pct else ""
    fmt = (lambda v: f"{v * scale:+.0f}{unit}") if pct else (lambda v: _num(v, digits, sign))
    text = fmt(est["value"])
    low, high = est.get("low"), est.get("high")
    if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)):
        text += f" [{fmt(low)}, {fmt(high)}]"
    return text


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline metric's result rows of the report's first scale."""
    headline = report["task"]["headline"]
    scale = report["scales"][0]
    return [r for r in report["results"] if r["metric"] == headline and r["scale"] == scale]


def _k(report: dict[str, Any]) -> str:
    """How many independent clusters the intervals rest on, as the report states it."""
    for row in _rows(report):
        for key in ("delta", "value"):
            est = row.get(key) or {}
            if est.get("k") is not None:
                return str(est["k"])
    intervals = report.get("settings", {}).get("intervals") or {}
    return str(intervals.get("k", "?"))


def _set_label(report: dict[str, Any]) -> str:
    items = max((v.get("items", 0) for v in report["variants"]), default=0)
    return f"{report['dataset'].get('name', '?')}, {items} items, k={_k(report)}"


def summary_table(reports: dict[str, dict[str, Any]]) -> str:
    """One line per (task, variant): value, delta vs bicubic and gap recovered, with CIs."""
    lines = [
        "| task | set | metric | variant | value [CI] | Δ vs bicubic [CI] | gap recovered [CI] |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, report in reports.items():
        metric = report["task"]["headline"]
        digits = _digits(metric)
        first = True
        for row in _rows(report):
            if row["variant"] == "lr" or (row.get("value") or {}).get("value") is None:
                continue  # lr is not an upscaling; HR's PSNR against itself is infinite
            cells = [
                LABELS[task] if first else "",
                _set_label(report) if first else "",
                metric if first else "",
                row["variant"],
                _ci(row.get("value"), digits),
                "-" if row["kind"] == "baseline" else _ci(row.get("delta"), digits, sign=True),
                "-" if not row.get("gap_recovered") else _ci(row["gap_recovered"], 0, pct=True),
            ]
            lines.append("| " + " | ".join(cells) + " |")
            first = False
    return "\n".join(lines)


def verdict_lines(reports: dict[str, dict[str, Any]]) -> str:
    """The reports' own verdict sentences, quoted, one bullet per task."""
    out = []
    for task, report in reports.items():
        texts = []
        for verdict in report.get("verdicts") or []:
            text = verdict.get("text") if isinstance(verdict, dict) else str(verdict)
            if text:
                texts.append(text)
        if texts:
            out.append(f"* **{LABELS[task]}**")
            out.extend(f"  * {text}" for text in texts)
    return "\n".join(out)


def summary_block(reports: dict[str, dict[str, Any]]) -> str:
    """The ``summary`` block: the demo's task table and the reports' verdicts."""
    source = ", ".join(f"`experiments/demo/{t}/report.json`" for t in reports)
    table = summary_table(reports)
    verdicts = verdict_lines(reports)
    note = (
        f"<!-- generated by scripts/publish_results.py from {source}; do not edit -->\n"
        "n/m: not measurable at this size or no interval for this k (the report says why)."
    )
    return f"{note}\n\n{table}\n\nThe reports' verdicts:\n\n{verdicts}"


def report_table(report: dict[str, Any]) -> str:
    """Every metric of a report at each scale: value [CI] per variant (n/m where undefined)."""
    metrics = report["task"]["metrics"]
    lines = []
    for scale in report["scales"]:
        lines.append(f"x{scale}:\n")
        lines.append("| variant | " + " | ".join(metrics) + " |")
        lines.append("|" + "---|" * (len(metrics) + 1))
        variants = [v["name"] for v in report["variants"] if v.get("scale", scale) == scale]
        for name in dict.fromkeys(variants):
            cells = []
            for metric in metrics:
                row = next(
                    (r for r in report["results"]
                     if r["variant"] == name and r["metric"] == metric and r["scale"] == scale),
                    None,
                )  # fmt: skip
                cells.append("-" if row is None else _ci(row.get("value"), _digits(metric)))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    verdicts = [v.get("text") for v in report.get("verdicts") or [] if isinstance(v, dict)]
    if verdicts:
        lines.append("Verdicts (from the report):\n")
        lines.extend(f"* {t}" for t in verdicts if t)
    return "\n".join(lines).rstrip()


def detector_table(record: dict[str, Any]) -> str:
    """The bundled detector's HR metrics on its selection (val) and test splits."""
    lines = [
        "| split | backgrounds | mAP50 | mAP50-95 | precision | recall |",
        "|---|---|---|---|---|---|",
    ]
    for split, key in (("val (selection)", "hr_val"), ("test (published)", "hr_test")):
        m = record.get(key)
        if not m:
            continue
        names = record.get("val_sources" if key == "hr_val" else "test_sources") or []
        lines.append(
            f"| {split} | {', '.join(names)} | {m['mAP50']:.3f} | {m['mAP50-95']:.3f} | "
            f"{m['precision']:.3f} | {m['recall']:.3f} |"
        )
    lines.append("")
    lines.append(
        f"Trained on {', '.join(record.get('train_sources') or [])}; "
        f"{record.get('train_seconds')} s; `{record.get('command')}`"
    )
    return "\n".join(lines)


def run_counts_table(folder: Path) -> str:
    """Detections per class of ``srpipe run`` summaries (``<label>.summary.json``)."""
    rows = []
    for path in sorted(folder.glob("*.summary.json")):
        info = json.loads(path.read_text())
        summary = info.get("summary", {})
        per = summary.get("per_class", {})
        other = sum(v for k, v in per.items() if k not in ("person", "bicycle", "car"))
        how = f"--sr {info.get('sr')}" + (f" --scale {info['scale']}" if info.get("scale") else "")
        rows.append(
            f"| {path.name.split('.')[0]} | `{how}` | {summary.get('images')} | "
            f"{summary.get('detections')} | {per.get('person', 0)} | {per.get('bicycle', 0)} | "
            f"{per.get('car', 0)} | {other} | {summary.get('detector')} |"
        )
    head = [
        "| input | run | frames | detections | person | bicycle | car | other | detector |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + rows)


def sharding_table(record: dict[str, Any], source: str) -> str:
    """1 rank vs 2 ranks from a ``benchmarks/bench_sharding.py --json`` file."""
    best = record["best"]
    one = best["1 rank"]
    load = record.get("load_average_before") or [None]
    lines = [
        f"<!-- generated by scripts/publish_results.py from {source} -->",
        "",
        f"{record['images']} images of {record['size']} px, bootstrap {record['bootstrap']}, "
        f"{record['cpu_count']} cores, load average {load[0]:.1f} before:",
        "",
        "| processes | wall time | speed-up | reports equal |",
        "|---|---|---|---|",
    ]
    for label, seconds in best.items():
        video = label.startswith("video")
        # a video row's speed-up is against the video at 1 rank; its records.json must match
        base = best["video, 1 rank"] if video else one
        same = record.get("video_records_equal" if video else "reports_equal")
        equal = "" if label in ("1 rank", "video, 1 rank") else ("yes" if same else "NO")
        if video:
            label = f"{label} ({record['video_frames']}-frame video, records.json)"
        lines.append(f"| {label} | {seconds:.1f} s | {base / seconds:.2f}x | {equal} |")
    return "\n".join(lines)


def perceptual_block() -> str | None:
    """The perceptual experiment's table (Real-ESRGAN beside the fidelity models), from its
    reports through the experiment's own table code; None before the experiment has run."""
    import importlib.util

    path = REPO / "experiments" / "perceptual" / "make_table.py"
    spec = importlib.util.spec_from_file_location("perceptual_make_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = module.load()
    if not found:
        return None
    source = ", ".join(f"`experiments/perceptual/{name}/report.json`" for name in found)
    return module.perceptual_table(found, source)


def generate(name: str, reports: dict[str, dict[str, Any]]) -> str | None:
    """The Markdown of one block, or None when its source file does not exist."""
    if name == "summary":
        return summary_block(reports)
    if name == "perceptual":
        return perceptual_block()
    if name == "detector":
        path = REPO / "plugins" / "srpipe_detect" / "weights" / "tiny_objects_yolov8s.json"
        return detector_table(json.loads(path.read_text())) if path.is_file() else None
    if name.startswith("runs:"):
        folder = REPO / name.split(":", 1)[1]
        return run_counts_table(folder) if folder.is_dir() else None
    if name.startswith("sharding:"):
        source = name.split(":", 1)[1]
        path = REPO / source
        return sharding_table(json.loads(path.read_text()), source) if path.is_file() else None
    if name.startswith("report:"):
        path = REPO / name.split(":", 1)[1]
        if not path.is_file():
            return None
        note = f"<!-- generated by scripts/publish_results.py from {name.split(':', 1)[1]} -->"
        return note + "\n\n" + report_table(json.loads(path.read_text()))
    return None


BLOCK = re.compile(r"(<!-- results:([\w:./-]+):begin -->\n)(.*?)(<!-- results:\2:end -->)", re.S)
TARGETS = (
    REPO / "README.md",
    REPO / "experiments" / "README.md",
    REPO / "experiments" / "detect" / "README.md",
    REPO / "experiments" / "detect" / "coco_bikes_x4.md",
    REPO / "experiments" / "faces" / "README.md",
    REPO / "experiments" / "video" / "README.md",
    REPO / "BENCHMARKS.md",  # the sharding tables
)


def render(text: str, reports: dict[str, dict[str, Any]]) -> str:
    def replace(match: re.Match) -> str:
        body = generate(match.group(2), reports)
        if body is None:
            return match.group(0)
        return f"{match.group(1)}{body}\n{match.group(4)}"

    return BLOCK.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a block is stale")
    args = parser.parse_args(argv)
    reports = load_reports()
    stale = []
    for path in TARGETS:
        text = path.read_text()
        new = render(text, reports)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        names = ", ".join(str(p.relative_to(REPO)) for p in stale)
        print(f"stale result blocks in {names}; run python scripts/publish_results.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
