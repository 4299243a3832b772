#!/usr/bin/env python
"""Measure how far tiled output is from the untiled forward, per tile overlap, for the
authors' Real-ESRGAN x4plus (``realesrgan``) and a random-weight SwinIR on and off the
window grid; writes ``tiling_check.json`` beside this file.

    OMP_NUM_THREADS=1 python experiments/perceptual/tiling_check.py

The overlap Real-ESRGAN's tiles get (``RRDBNET_TILE_OVERLAP`` in
srpipe/models/networks/rrdbnet.py) is the smallest one here whose max difference is 1 level.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from srpipe.atomic import write_json
from srpipe.upscaling.upscaler import Upscaler

HERE = Path(__file__).resolve().parent


def _difference(tiled: np.ndarray, whole: np.ndarray) -> dict:
    diff = np.abs(tiled.astype(int) - whole.astype(int))
    return {
        "max_abs_diff": int(diff.max()),
        "mean_abs_diff": round(float(diff.mean()), 5),
        "share_over_1": round(float((diff > 1).mean()), 6),
    }


def realesrgan_rows(image: np.ndarray, tile: int) -> list[dict]:
    whole = Upscaler("realesrgan", 4, device="cpu")(image)
    rows = []
    for overlap in (16, 32, 48, 64):
        started = time.perf_counter()
        up = Upscaler("realesrgan", 4, device="cpu", tile=tile, tile_overlap=overlap)
        up.model.min_tile_overlap = 0  # measure this overlap, not the network's own
        row = {"overlap": overlap, **_difference(up(image), whole)}
        rows.append({**row, "seconds": round(time.perf_counter() - started, 1)})
        print(rows[-1], flush=True)
    return rows


def swinir_rows(image: np.ndarray, tile: int) -> list[dict]:
    from spandrel.architectures.SwinIR import SwinIR

    rows = []
    for depths in ([2, 2], [6, 6, 6, 6]):
        torch.manual_seed(0)
        net = SwinIR(upscale=2, img_size=32, window_size=8, img_range=1.0, depths=depths,
                     embed_dim=24, num_heads=[2] * len(depths), mlp_ratio=2,
                     upsampler="pixelshuffledirect")  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "swinir_x2.pth"
            torch.save({"params": net.state_dict()}, path)
            whole = Upscaler(str(path), 2, device="cpu")(image)
            for align, overlap in ((1, 16), (1, 64), (8, 16), (8, 32)):
                up = Upscaler(str(path), 2, device="cpu", tile=tile, tile_overlap=overlap)
                up.model.tile_alignment, up.model.min_tile_overlap = align, 0
                row = {"depths": depths, "window": 8, "alignment": align, "overlap": overlap}
                rows.append({**row, **_difference(up(image), whole)})
                print(rows[-1], flush=True)
    return rows


def main() -> None:
    from skimage import data

    torch.set_num_threads(1)
    photo = data.astronaut()
    strip = photo[200:264, 60:380].copy()  # 64 x 320 LR: one row of five 64-px tiles
    crop = photo[100:196, 100:201].copy()  # 96 x 101: not a window multiple
    record = {
        "check": "tiled vs untiled srpipe Upscaler output, uint8 levels",
        "realesrgan": {"image": "skimage astronaut [200:264, 60:380]", "tile": 64,
                       "rows": realesrgan_rows(strip, 64)},
        "swinir_random": {"image": "skimage astronaut [100:196, 100:201]", "tile": 32,
                          "rows": swinir_rows(crop, 32)},
    }  # fmt: skip
    write_json(HERE / "tiling_check.json", record)


if __name__ == "__main__":
    main()
