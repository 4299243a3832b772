"""Peak memory of `srpipe upscale` with the default memory budget, against input size.

Not a test: run it by hand on an idle machine (figures go in BENCHMARKS.md)::

    python benchmarks/bench_memory.py                       # 250x188 .. 1000x750, EDSR x4
    python benchmarks/bench_memory.py --sizes 2000x1500 --budget 1G

Each size is one `srpipe upscale IN OUT --sr edsr --scale 4` in its own process under
``/usr/bin/time -v`` (its "Maximum resident set size" is the peak RSS). With ``--check``
the same input also runs untiled (``--memory 64G``: everything fits, one forward) and the
two outputs are compared: the largest absolute difference in 8-bit levels is reported.
The tile the budget chose is printed from the Upscaler's own planning.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A photo-like RGB image: smooth structure plus mild noise (SR output is not trivial)."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    img += rng.integers(-8, 9, img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


def run_upscale(src: Path, dst: Path, *extra: str) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of one `srpipe upscale` subprocess."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"}
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "srpipe", "upscale", str(src), str(dst)]
    cmd += ["--sr", "edsr", "--scale", "4", *extra]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return peak_kb / 1024, seconds


def planned_tile(width: int, height: int, budget: str | None) -> tuple[int, int]:
    """(tile, budget bytes) the default planning picks for this input."""
    sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
    from srpipe.upscaling.upscaler import Upscaler

    up = Upscaler("edsr", 4, device="cpu", memory=budget)
    return up._tile_for(height, width), up.memory_budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250x188,500x375,1000x750")
    parser.add_argument("--budget", default=None, help="--memory for every run (default: none)")
    parser.add_argument("--check", action="store_true", help="compare with the untiled output")
    args = parser.parse_args()
    from srpipe.image.io import read_image, write_image

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            src = Path(tmp) / f"photo_{size}.png"
            write_image(src, photo(width, height))
            extra = ["--memory", args.budget] if args.budget else []
            peak, seconds = run_upscale(src, Path(tmp) / "out.png", *extra)
            tile, budget = planned_tile(width, height, args.budget)
            row = {
                "input": size,
                "tile": tile,
                "budget_mb": round(budget / 2**20),
                "peak_rss_mb": round(peak),
                "seconds": round(seconds, 1),
            }
            if args.check:
                untiled_peak, _ = run_upscale(src, Path(tmp) / "ref.png", "--memory", "64G")
                diff = np.abs(
                    read_image(Path(tmp) / "out.png").astype(int)
                    - read_image(Path(tmp) / "ref.png").astype(int)
                )
                row["untiled_peak_rss_mb"] = round(untiled_peak)
                row["max_level_diff"] = int(diff.max())
                row["pixels_differing"] = int((diff > 0).sum())
            rows.append(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
