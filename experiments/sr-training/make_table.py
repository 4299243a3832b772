#!/usr/bin/env python
"""The SR tables of experiments/sr-training/README.md, generated from files (never typed).

    python experiments/sr-training/make_table.py            # rewrite the marked blocks
    python experiments/sr-training/make_table.py --check    # exit 1 if a block is stale

* ``test``: the published numbers, from ``test/report.json`` (``srpipe eval sr`` on the SR test
  split, the papers' layout: Y-PSNR / SSIM, shave = scale), with each model's gain over bicubic
  and its jackknife/bootstrap interval as the report states it.
* ``change``: bundled ``edsr`` in ``test-first-bundle/report.json`` (the first bundle's
  test run) and in ``test/report.json``, beside SRMD-NF.
* ``rcan_change``: bundled ``rcan`` in ``test-rcan-4x8-scratch/report.json`` (the test run
  before its distilled continuation, kept as it was) and in ``test/report.json``, beside
  ``edsr`` (the issue's target: at least ``edsr``'s gain).
* ``rcan_run``: the distilled ``rcan`` continuation runs in ``cpu-rcan/`` (their own curves).
* ``rcan_decision``: the bundling decision, on validation only: each continued checkpoint's
  validation Y-PSNR as ``bundle`` scored it (``srpipe/weights/index.json``) beside the
  weights it replaced (``cpu-rcan/index_before.json``, the index entry before bundling).
* ``continuation``: the CPU continuation runs in ``cpu-continue/`` (fp32, lower learning
  rate, from the bundle) against the runs they continued (``cpu-distill/``), on the runs' own
  validation measure (``best_val_psnr``).
* ``validation``: the selection evidence, from ``srpipe/weights/index.json`` (each trained
  checkpoint's validation table, scored by ``scripts/train_bundled.py bundle``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a file: experiments/ holds readme_blocks
from readme_blocks import rewrite  # noqa: E402

INDEX = HERE.parents[1] / "srpipe" / "weights" / "index.json"
README = HERE / "README.md"


def test_table(report: dict) -> str:
    """Methods x scales, ``PSNR / SSIM`` cells, then gains over bicubic with intervals."""
    scales = report["scales"]
    cells: dict[str, dict[int, list[float | None]]] = {}
    deltas: dict[str, dict[int, str]] = {}
    for row in report["results"]:
        if row["variant"] in ("hr", "lr"):
            continue
        value = (row.get("value") or {}).get("value")
        entry = cells.setdefault(row["variant"], {}).setdefault(row["scale"], [None, None])
        entry[0 if row["metric"] == "psnr" else 1] = value
        delta = row.get("delta") or {}
        if row["metric"] == "psnr" and delta.get("value") is not None:
            text = f"{delta['value']:+.2f}"
            if delta.get("low") is not None and delta.get("high") is not None:
                text += f" [{delta['low']:+.2f}, {delta['high']:+.2f}]"
            deltas.setdefault(row["variant"], {})[row["scale"]] = text
    name = report["dataset"].get("name", "test")
    head = "| method | " + " | ".join(f"{name} x{s} (PSNR / SSIM)" for s in scales) + " |"
    lines = [head, "|" + "---|" * (len(scales) + 1)]
    for method, by_scale in cells.items():
        row = []
        for s in scales:
            p, q = by_scale.get(s, [None, None])
            row.append("-" if p is None else f"{p:.2f} / {q:.4f}")
        lines.append(f"| {method} | " + " | ".join(row) + " |")
    lines += ["", "| method | " + " | ".join(f"Δ PSNR vs bicubic x{s} [CI]" for s in scales) + " |"]
    lines.append("|" + "---|" * (len(scales) + 1))
    for method, by_scale in deltas.items():
        lines.append(f"| {method} | " + " | ".join(by_scale.get(s, "-") for s in scales) + " |")
    intervals = report.get("settings", {}).get("intervals") or {}
    if intervals:
        lines += ["", f"Intervals: {json.dumps(intervals)}"]
    return "\n".join(lines)


def validation_table(index: dict) -> str:
    """Mean validation Y-PSNR of bicubic, SRMD-NF and each trained checkpoint, per scale."""
    lines = ["| checkpoint | scale | iteration | device | teacher | bicubic | SRMD-NF | ours |"]
    lines.append("|---|---|---|---|---|---|---|---|")
    for file, entry in sorted(index.items()):
        table = entry.get("val_table")
        if not table or not entry.get("train_sources"):
            continue

        def mean(method: str, table: dict = table) -> str:
            rows = table.get(method)
            if not rows:
                return "-"
            return f"{sum(v[0] for v in rows.values()) / len(rows):.2f}"

        ours = next(m for m in table if m.startswith("ours"))
        taught = entry.get("distilled_from") or {}
        teacher = f"{taught['teacher']} ({taught['share']:.0%})" if taught else "-"
        lines.append(
            f"| {file} | x{entry['scale']} | {entry.get('iteration')} | {entry.get('device')} | "
            f"{teacher} | {mean('bicubic')} | {mean('SRMD-NF')} | {mean(ours)} |"
        )
    return "\n".join(lines)


def _psnr(report: dict) -> dict[tuple[str, int], float]:
    return {
        (r["variant"], r["scale"]): r["value"]["value"]
        for r in report["results"]
        if r["metric"] == "psnr" and (r.get("value") or {}).get("value") is not None
    }


def change_table(
    before: dict,
    after: dict,
    model: str = "edsr",
    rival: str = "srmd",
    before_label: str = "first bundle",
) -> str:
    """``model``'s test Y-PSNR in an earlier report and now, beside ``rival``'s (now)."""
    old, new = _psnr(before), _psnr(after)
    lines = [
        f"| scale | {model}, {before_label} | {model}, now | change | {rival} "
        f"| now minus {rival} |",
        "|---|---|---|---|---|---|",
    ]
    for scale in after["scales"]:
        a, b, r = old.get((model, scale)), new.get((model, scale)), new.get((rival, scale))
        if None in (a, b, r):
            continue
        lines.append(f"| x{scale} | {a:.2f} | {b:.2f} | {b - a:+.2f} | {r:.2f} | {b - r:+.2f} |")
    return "\n".join(lines)


def continuation_table(folder: Path, before: Path) -> str:
    """Each continuation run beside the run it started from, on the same validation measure."""
    lines = [
        "| job | before: best val | continued | change | minutes | steps/min | precision |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in sorted(folder.glob("edsr_x*.json")):
        run, start = json.loads(path.read_text()), json.loads((before / path.name).read_text())
        a, b = start["best_val_psnr"], run["best_val_psnr"]
        steps = run["curve"][-1]["step"] / (run["curve"][-1]["seconds"] / 60)
        precision = "bf16 autocast" if run["bf16"] else "fp32"
        lines.append(
            f"| {run['job']} | {a:.3f} | {b:.3f} | {b - a:+.3f} | {run['minutes']:.0f} "
            f"| {steps:.0f} | {precision} |"
        )
    return "\n".join(lines)


def run_table(folder: Path) -> str:
    """Each run's steps, budget and its own validation curve: first point and best point."""
    lines = [
        "| job | init | teacher share | steps | minutes | steps/min | first val | best val "
        "| best at step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(folder.glob("rcan_x*.json")):
        run = json.loads(path.read_text())
        first, last = run["curve"][0], run["curve"][-1]
        best = max(run["curve"], key=lambda r: r["val_psnr"])
        lines.append(
            f"| {run['job']} | {run['init']} | {run['teacher_share']:.0%} | {last['step']} "
            f"| {last['seconds'] / 60:.1f} | {last['step'] / (last['seconds'] / 60):.0f} "
            f"| {first['val_psnr']:.3f} (step {first['step']}) | {best['val_psnr']:.3f} "
            f"| {best['step']} |"
        )
    return "\n".join(lines)


def decision_table(before: dict, index: dict) -> str:
    """Validation Y-PSNR (``bundle``'s scoring) of the replaced and the bundled checkpoints."""
    lines = [
        "| checkpoint | before: iteration | before: val | now: iteration | now: val | change |",
        "|---|---|---|---|---|---|",
    ]
    for file, old in sorted(before.items()):
        if not isinstance(old, dict) or file not in index:
            continue
        new = index[file]
        lines.append(
            f"| {file} | {old['iteration']} | {old['val_psnr']:.2f} | {new['iteration']} "
            f"| {new['val_psnr']:.2f} | {new['val_psnr'] - old['val_psnr']:+.2f} |"
        )
    return "\n".join(lines)


def blocks() -> dict[str, str]:
    out = {"validation": validation_table(json.loads(INDEX.read_text()))}
    if (HERE / "cpu-continue").is_dir():
        out["continuation"] = continuation_table(HERE / "cpu-continue", HERE / "cpu-distill")
    report = HERE / "test" / "report.json"
    if report.is_file():
        out["test"] = test_table(json.loads(report.read_text()))
        first = HERE / "test-first-bundle" / "report.json"
        if first.is_file():
            out["change"] = change_table(
                json.loads(first.read_text()), json.loads(report.read_text())
            )
        scratch = HERE / "test-rcan-4x8-scratch" / "report.json"
        if scratch.is_file():
            out["rcan_change"] = change_table(
                json.loads(scratch.read_text()),
                json.loads(report.read_text()),
                model="rcan",
                rival="edsr",
                before_label="before",
            )
    if (HERE / "cpu-rcan").is_dir():
        out["rcan_run"] = run_table(HERE / "cpu-rcan")
        before = json.loads((HERE / "cpu-rcan" / "index_before.json").read_text())
        out["rcan_decision"] = decision_table(before, json.loads(INDEX.read_text()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    generated = blocks()
    status = rewrite(README, generated, check=args.check)
    return status


if __name__ == "__main__":
    sys.exit(main())
