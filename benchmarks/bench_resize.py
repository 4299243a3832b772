"""Speed of srpipe's MATLAB-exact resize on a DIV2K-sized image (not a test).

    python benchmarks/bench_resize.py

Times (median of ``--repeats``) the protocol's LR generation (2040x1356 RGB uint8 -> x1/4),
the bicubic baseline back up (x4), and the torch path on a float32 CPU tensor, with
OpenCV's INTER_CUBIC (a different kernel: a = -0.75, no antialiasing) for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (weight tables are cached after the first call)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description="MATLAB-exact resize speed")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import cv2
    import torch

    from srpipe.image.resize import degrade, imresize

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (1356, 2040, 3), dtype=np.uint8)
    lr = degrade(hr, 4)
    tensor = torch.from_numpy(hr).permute(2, 0, 1)[None].float().div(255)
    report = {
        "image": "2040x1356 RGB",
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "seconds_median": {
            "degrade_x4_numpy_uint8": median_seconds(lambda: degrade(hr, 4), args.repeats),
            "bicubic_up_x4_numpy_uint8": median_seconds(lambda: imresize(lr, 4), args.repeats),
            "down_x4_torch_float32_cpu": median_seconds(
                lambda: imresize(tensor, 0.25), args.repeats
            ),
            "opencv_inter_cubic_down_x4 (not MATLAB)": median_seconds(
                lambda: cv2.resize(hr, (510, 339), interpolation=cv2.INTER_CUBIC), args.repeats
            ),
        },
    }
    report["seconds_median"] = {k: round(v, 4) for k, v in report["seconds_median"].items()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
