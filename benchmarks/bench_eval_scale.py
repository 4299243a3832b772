#!/usr/bin/env python
"""Peak memory and speed of ``srpipe eval`` as the number of items grows (issue 25).

Generates a COCO-format set of N 640x480 JPEG images (boxes included, so ``eval detect``
reads it too), runs each eval in a fresh process under ``/usr/bin/time`` (peak RSS of the
process; under torchrun, of each rank), for this tree and, with ``--old TREE``, for another
checkout (e.g. ``git worktree add /tmp/old-srpipe f745d5d``) in the same run. Writes a result
JSON under benchmarks/results/ and, with ``--publish``, the BENCHMARKS.md section generated
from it::

    python benchmarks/bench_eval_scale.py --n 100,1000 --evals sr-none --old /tmp/old-srpipe
    python benchmarks/bench_eval_scale.py --publish benchmarks/results/eval_scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.upscaling import hardware

REPO = Path(__file__).resolve().parents[1]
#: the evals measured, by name: srpipe eval arguments after the task's data
EVALS = {
    "sr-none": ["sr", "--sr", "none", "--compare", "bicubic"],
    "detect-bicubic": ["detect", "--sr", "none", "--compare", "bicubic"],
    "detect-edsr": ["detect", "--sr", "edsr", "--compare", "bicubic"],
}
BEGIN, END = "<!-- results:eval-scale:begin -->", "<!-- results:eval-scale:end -->"


def make_coco(folder: Path, n: int, seed: int = 0) -> Path:
    """N 640x480 JPEGs with a few boxes each, and their COCO json; returns the json path."""
    from PIL import Image

    json_path = folder / "annotations.json"
    if json_path.is_file():
        return json_path
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    yy, xx = np.mgrid[0:480, 0:640]
    for i in range(n):
        base = (xx * (1 + i % 7) // 5 + yy * (1 + i % 3) // 4) % 256
        pixels = np.stack([base, (base + 85) % 256, (base * 3) % 256], -1).astype(np.uint8)
        for _ in range(3):
            x, y = int(rng.integers(0, 600)), int(rng.integers(0, 440))
            pixels[y : y + 40, x : x + 40] = rng.integers(0, 255, 3, dtype=np.uint8)
            annotations.append(
                {"id": len(annotations) + 1, "image_id": i + 1, "category_id": 1,
                 "bbox": [x, y, 40, 40], "area": 1600, "iscrowd": 0}
            )  # fmt: skip
        name = f"im{i:05d}.jpg"
        Image.fromarray(pixels).save(folder / "images" / name, quality=90)
        images.append({"id": i + 1, "file_name": name, "width": 640, "height": 480})
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "square"}]}  # fmt: skip
    json_path.write_text(json.dumps(coco))
    return json_path


def measure(tree: Path, args: list[str], ranks: int, out: Path, env: dict[str, str]) -> dict:
    """One eval in fresh processes: wall seconds and the peak RSS of each process (MB)."""
    paths = os.pathsep.join([str(tree), str(tree / "plugins")])
    env = {**env, "PYTHONPATH": paths, "OMP_NUM_THREADS": "1"}
    srpipe = ["-m", "srpipe", "eval", *args, "--scale", "4", "--bootstrap", "200", "-o", str(out)]
    if ranks == 1:
        cmd = ["/usr/bin/time", "-f", "peak_kb %M", sys.executable, *srpipe]
    else:  # /usr/bin/time around each rank: torchrun starts them with --no-python
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               str(ranks), "--no-python", "/usr/bin/time", "-f", "peak_kb %M", sys.executable,
               *srpipe]  # fmt: skip
    tic = time.perf_counter()
    # run from the tree: ``python -m`` puts the working folder first on sys.path
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree)
    wall = time.perf_counter() - tic
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    peaks = [int(kb) / 1024 for kb in re.findall(r"peak_kb (\d+)", done.stderr)]
    return {"wall_s": round(wall, 2), "peak_rss_mb": [round(p, 1) for p in peaks]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work)
    env = {**os.environ, "SRPIPE_CACHE": str(work / "cache")}
    trees = {"new": REPO, **({"old": Path(args.old)} if args.old else {})}
    rows = []
    for n in [int(v) for v in args.n.split(",")]:
        data = make_coco(work / f"coco{n}", n)
        for name in args.evals.split(","):
            # eval sr reads the folder of images, eval detect the COCO json
            source = data.parent / "images" if EVALS[name][0] == "sr" else data
            task_args = [EVALS[name][0], "--data", str(source), *EVALS[name][1:]]
            for ranks in [int(r) for r in args.ranks.split(",")]:
                for design, tree in trees.items():
                    out = work / "out" / f"{design}-{name}-{n}-{ranks}"
                    got = measure(tree, task_args, ranks, out, env)
                    got.update(design=design, eval=name, n=n, ranks=ranks,
                               items_per_s=round(n / got["wall_s"], 2))  # fmt: skip
                    print(json.dumps(got), flush=True)
                    rows.append(got)
    load = os.getloadavg()[0]
    found = hardware.detect(measure=True, refresh=True)  # peaks measured in this run, after it
    return {
        "machine": f"{found.cpu}, {found.cores} cores, flags {' '.join(found.flags)}",
        "peaks_gflops": found.peaks,
        "load_average_after": round(load, 2),
        "note": args.note,
        "command": " ".join(sys.argv),
        "rows": rows,
    }


def table(record: dict[str, Any]) -> str:
    """The BENCHMARKS.md section, from a result file."""
    lines = [
        BEGIN,
        "<!-- generated by benchmarks/bench_eval_scale.py --publish; do not edit -->",
        "",
        f"{record['machine']}; matmul peaks measured in the same run "
        f"{record.get('peaks_gflops', 'not recorded')} GFLOP/s; {record['note']}",
        "",
        "| eval | N | ranks | design | peak RSS per process | wall time | items/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in record["rows"]:
        peaks = ", ".join(f"{p:.0f} MB" for p in r["peak_rss_mb"])
        lines.append(
            f"| {r['eval']} | {r['n']} | {r['ranks']} | {r['design']} | {peaks} | "
            f"{r['wall_s']:.1f} s | {r['items_per_s']:.1f} |"
        )
    lines.append(END)
    return "\n".join(lines)


def publish(result: Path, target: Path) -> None:
    record = json.loads(result.read_text())
    text = target.read_text()
    block = table(record)
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n## Evaluation at dataset scale\n\n" + block + "\n"
    target.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="100,1000,5000")
    parser.add_argument("--evals", default="sr-none,detect-bicubic,detect-edsr")
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--old", help="another checkout to measure beside this one")
    parser.add_argument("--work", default="/tmp/bench_eval_scale")
    parser.add_argument("--note", default="")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/eval_scale.json"))
    parser.add_argument("--publish", help="a result JSON: write its BENCHMARKS.md section")
    args = parser.parse_args()
    if args.publish:
        publish(Path(args.publish), REPO / "BENCHMARKS.md")
        return
    record = run(args)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
