"""The end-of-run picture: training loss and validation Y-PSNR against iterations."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from srpipe.atomic import atomic_path


def _read(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def plot_curves(run: Path) -> Path | None:
    """Write ``run/curves.png`` from ``train_log.csv`` and ``val_log.csv``; None if no data."""
    train = _read(run / "train_log.csv")
    val = _read(run / "val_log.csv")
    if not train and not val:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 4))
    if train:
        ax_loss.plot([r["iteration"] for r in train], [r["loss"] for r in train], lw=1)
        ax_loss.set_yscale("log")
    ax_loss.set(xlabel="iteration", ylabel="training loss", title="loss")
    # row 0 of val_log is the bicubic reference, drawn as a line
    points = [r for r in val if r["iteration"] > 0 and not math.isnan(r["psnr"])]
    if points:
        ax_val.plot([r["iteration"] for r in points], [r["psnr"] for r in points], "o-", ms=3)
    reference = [r for r in val if r["iteration"] == 0]
    if reference:
        ax_val.axhline(reference[0]["psnr"], color="gray", ls="--", label="bicubic")
        ax_val.legend()
    ax_val.set(xlabel="iteration", ylabel="Y-PSNR (dB)", title="validation")
    for ax in (ax_loss, ax_val):
        ax.grid(alpha=0.3)
    fig.suptitle(run.name)
    fig.tight_layout()
    target = run / "curves.png"
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return target
