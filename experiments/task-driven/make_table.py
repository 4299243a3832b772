"""The SR4IR-shaped table of experiments/task-driven, from the three report.json files.

Rows: bicubic->T, SR->T, S->T, T->S, TDP, SR4IR, HR->T on the detect test split at x4.
mAP50 / mAP50-95 with the harness's intervals (each from its own report); "% gap" is
(mAP50 - bicubic) / (HR - bicubic) with bicubic and HR under the *bundled* detector, as
SR4IR's table fixes the reference task net; the harness's own gap-recovered (with its
interval, within each report, i.e. under that row's detector) is shown beside it.
"vs SR->T" is the paired difference of per-image AP50 against SR->T on the same images,
with the jackknife t interval over the set's independent background groups (what the
harness uses below 20 groups). Writes table.md and the table into README.md.

Run from the repository root: python experiments/task-driven/make_table.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from srpipe.comparison.statistics import jackknife_interval
from srpipe.report import read_item_scores

HERE = Path(__file__).resolve().parent
ROWS = [  # (label, report folder, variant)
    ("bicubic -> T", "eval_bundled_detector", "bicubic"),
    ("SR -> T (bundled EDSR)", "eval_bundled_detector", "edsr"),
    ("S->T (detector fine-tuned on SR)", "eval_s2t", "edsr"),
    ("T->S (SR on L1 + detection loss)", "eval_bundled_detector", "t2s_sr"),
    ("TDP (SR on L1 + task-driven perceptual)", "eval_bundled_detector", "tdp_sr"),
    ("SR4IR (alternating, TDP + CQMix)", "eval_sr4ir", "sr4ir_sr"),
    ("HR -> T", "eval_bundled_detector", "hr"),
]


def load(folder: str) -> dict:
    """A report.json with its per-item rows (from its items file) as ``item_scores``."""
    path = HERE / folder / "report.json"
    return {**json.loads(path.read_text()), "item_scores": read_item_scores(path)}


def metric(report: dict, variant: str, name: str) -> dict:
    return next(r for r in report["results"] if r["variant"] == variant and r["metric"] == name)


def per_image(report: dict, variant: str) -> tuple[list[str], np.ndarray, list[str]]:
    rows = report["item_scores"]["x4"][variant]  # read by load() from the items file
    ids = [r["id"] for r in rows]
    return ids, np.array([r["scores"]["AP50"] for r in rows], float), [r["group"] for r in rows]


def paired_vs(report, variant, ref_report, ref_variant) -> tuple[float, float, float]:
    ids, a, groups = per_image(report, variant)
    ref_ids, b, _ = per_image(ref_report, ref_variant)
    assert ids == ref_ids, "the reports must score the same images in the same order"
    diff = a - b
    keep = ~np.isnan(diff)
    diff, groups = diff[keep], np.array(groups)[keep]
    value = float(diff.mean())
    replicates = np.array([diff[groups != g].mean() for g in sorted(set(groups))])
    low, high = jackknife_interval(value, replicates)
    return value, low, high


def cell(m: dict) -> str:
    v = m["value"]
    return f"{v['value']:.3f} [{v['low']:.3f}, {v['high']:.3f}]"


def main() -> None:
    reports = {f: load(f) for f in {r[1] for r in ROWS}}
    ref = reports["eval_bundled_detector"]
    bic = metric(ref, "bicubic", "mAP50")["value"]["value"]
    hr = metric(ref, "hr", "mAP50")["value"]["value"]
    lines = [
        "| variant | mAP50 [95% CI] | mAP50-95 [95% CI] | % of HR-bicubic gap "
        "(bundled T) | harness gap recovered [CI] (own T) | per-image AP50 vs SR -> T [CI] |",
        "|---|---|---|---|---|---|",
    ]
    summary = {}
    for label, folder, variant in ROWS:
        rep = reports[folder]
        m50 = metric(rep, variant, "mAP50")
        m5095 = metric(rep, variant, "mAP50-95")
        gap = (m50["value"]["value"] - bic) / (hr - bic) * 100
        own = m50.get("gap_recovered")
        own_cell = (
            f"{own['value'] * 100:.0f}% [{own['low'] * 100:.0f}%, {own['high'] * 100:.0f}%]"
            if own and own.get("low") is not None
            else "-"
        )
        if (folder, variant) == ("eval_bundled_detector", "edsr") or variant in ("hr", "bicubic"):
            vs = "-"
        else:
            d, lo, hi = paired_vs(rep, variant, ref, "edsr")
            sig = " (significant)" if lo > 0 or hi < 0 else ""
            vs = f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]{sig}"
            summary[label] = {"delta": d, "low": lo, "high": hi}
        lines.append(f"| {label} | {cell(m50)} | {cell(m5095)} | {gap:.0f}% | {own_cell} | {vs} |")
    n = ref["dataset"]["items"]
    groups = ref["dataset"]["groups"]
    lines.append("")
    lines.append(
        f"{n} test images, {groups} independent background groups (the intervals' unit); "
        "x4 protocol bicubic; detector at each image's own size."
    )
    table = "\n".join(lines) + "\n"
    (HERE / "table.md").write_text(table)
    readme = HERE / "README.md"
    text = readme.read_text()
    text = re.sub(
        r"<!-- table -->.*<!-- /table -->",
        lambda _: f"<!-- table -->\n{table}<!-- /table -->",
        text,
        flags=re.S,
    )
    readme.write_text(text)
    print(table)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
