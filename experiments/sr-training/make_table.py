#!/usr/bin/env python
"""Print the combined validation table of the bundled weights from srpipe/weights/index.json.

    python experiments/sr-training/make_table.py

Columns: bicubic, SRMD-NF (when a bundle recorded it), then each bundled x4 model; rows: the
validation images and their mean; cells: Y-PSNR dB / SSIM (shave = scale), as stored by
scripts/bundle_weights.py in each checkpoint's metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

INDEX = Path(__file__).resolve().parents[2] / "srpipe" / "weights" / "index.json"


def main() -> None:
    index = json.loads(INDEX.read_text())
    columns: dict[str, dict[str, list[float]]] = {}
    facts = []
    for name, entry in sorted(index.items()):
        table = entry.get("val_table")
        if not table or entry.get("scale") != 4:
            continue
        for method, rows in table.items():
            key = f"{entry['name']} (ours)" if method.startswith("ours") else method
            columns.setdefault(key, rows)
        facts.append(
            f"- `{name}`: {entry['arch']} {entry['hyper']}, iteration {entry.get('iteration')}, "
            f"{entry['dtype']}, {entry['bytes'] / 1e6:.2f} MB, sha256 {entry['sha256'][:16]}..."
        )
    order = [m for m in ("bicubic", "SRMD-NF") if m in columns] + [
        m for m in columns if m not in ("bicubic", "SRMD-NF")
    ]
    images = list(next(iter(columns.values())))
    print("| image | " + " | ".join(order) + " |")
    print("|" + "---|" * (len(order) + 1))
    for image in images:
        cells = [f"{columns[m][image][0]:.2f} / {columns[m][image][1]:.4f}" for m in order]
        print(f"| {image} | " + " | ".join(cells) + " |")
    means = []
    for m in order:
        psnr = np.mean([v[0] for v in columns[m].values()])
        ssim = np.mean([v[1] for v in columns[m].values()])
        means.append(f"**{psnr:.2f} / {ssim:.4f}**")
    print("| **mean** | " + " | ".join(means) + " |")
    base = np.mean([v[0] for v in columns["bicubic"].values()])
    gains = ", ".join(
        f"{m} {np.mean([v[0] for v in columns[m].values()]) - base:+.2f} dB"
        for m in order
        if m != "bicubic"
    )
    print(f"\nMean Y-PSNR gain over bicubic: {gains}.\n")
    print("\n".join(facts))


if __name__ == "__main__":
    main()
