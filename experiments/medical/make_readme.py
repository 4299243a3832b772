"""Write experiments/medical/results.md from eval/report.json (no number is typed by hand).

.venv/bin/python experiments/medical/make_readme.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _cell(stat: dict | None, digits: int) -> str:
    if not stat or stat.get("value") is None:
        return "n/a"
    value, low, high = stat["value"], stat.get("low"), stat.get("high")
    if low is None or high is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def main() -> None:
    report = json.loads((HERE / "eval" / "report.json").read_text())
    digits = {"psnr": 2, "hausdorff_mm": 2, "hausdorff_px": 2, "dice": 4, "ssim": 4}
    lines = [
        "# Results: `srpipe eval medical --compare bicubic --sr edsr --scale 2,4`",
        "",
        f"Set: {report['dataset']['description']}.",
        f"Items: {report['dataset']['items']}; sizes {report['dataset']['min_size']} to "
        f"{report['dataset']['max_size']} (width, height).",
        "",
        "Values with 95% intervals; Δ is the paired difference to bicubic.",
        "",
    ]
    for scale in report["scales"]:
        lines += [f"## x{scale}", ""]
        header = "| variant | " + " | ".join(report["task"]["metrics"]) + " |"
        lines += [header, "|" + "---|" * (len(report["task"]["metrics"]) + 1)]
        rows: dict[str, dict[str, dict]] = {}
        for row in report["results"]:
            if row["scale"] == scale:
                rows.setdefault(row["variant"], {})[row["metric"]] = row
        for variant, metrics in rows.items():
            cells = []
            for metric in report["task"]["metrics"]:
                row = metrics.get(metric, {})
                cell = _cell(row.get("value"), digits.get(metric, 4))
                if variant != report["baseline"].get(f"x{scale}", "bicubic") and variant != "hr":
                    cell += f"<br>Δ {_cell(row.get('delta'), digits.get(metric, 4))}"
                cells.append(cell)
            lines.append(f"| {variant} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Verdicts", ""] + [f"- {v}" for v in report["verdicts"]] + [""]
    (HERE / "results.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
