"""One Markdown table from the faces experiment reports (results/*/report.json).

Run: .venv/bin/python experiments/faces/table.py > experiments/faces/table.md
"""

from __future__ import annotations

import json
from pathlib import Path

METRICS = ("accuracy", "tar_far_1e-2", "tar_far_1e-3", "auc", "rank1", "unscored_pairs")


def cell(entry: dict) -> str:
    value = entry["value"]
    if value["value"] is None:
        return "n/a"
    if value["low"] is None or value["high"] is None:
        return f"{value['value']:.3f}"
    return f"{value['value']:.3f} [{value['low']:.2f}, {value['high']:.2f}]"


def main() -> None:
    root = Path(__file__).parent / "results"
    print("| run | scale | variant | " + " | ".join(METRICS) + " |")
    print("|---|---|---|" + "---|" * len(METRICS))
    for report_path in sorted(root.glob("*/report.json")):
        report = json.loads(report_path.read_text())
        table: dict[tuple[int, str], dict[str, str]] = {}
        for entry in report["results"]:
            key = (entry["scale"], entry["variant"])
            table.setdefault(key, {})[entry["metric"]] = cell(entry)
        for (scale, variant), cells in table.items():
            row = [report_path.parent.name, f"x{scale}", variant]
            row += [cells.get(m, "") for m in METRICS]
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
