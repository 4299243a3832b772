#!/usr/bin/env python
"""Peak memory and speed of ``srpipe eval`` as the number of items grows (issue 25).

Generates a COCO-format set of N 640x480 JPEG images (boxes included, so ``eval detect``
reads it too), runs each eval in a fresh process under ``/usr/bin/time`` (peak RSS of the
process; under torchrun, of each rank), for this tree and, with ``--old TREE``, for another
checkout (e.g. ``git worktree add /tmp/old-srpipe f745d5d``) in the same run. Every run gets
a fresh cache (no upscale cache or saved chunks from the run before). ``--cap EVAL=N`` skips
an eval above N items (recorded as skipped, with the reason); ``--resume-n N`` kills this
tree's one-process eval once 90% of its chunks are saved (kill -9) and times the re-run
that resumes it against the uninterrupted run. Writes a result JSON under
benchmarks/results/ and, with ``--publish``, the BENCHMARKS.md section generated from it::

    python benchmarks/bench_eval_scale.py --n 100,1000 --evals sr-none --old /tmp/old-srpipe
    python benchmarks/bench_eval_scale.py --publish benchmarks/results/eval_scale.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
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
#: variants each eval runs (HR included): a resumed run's chunks are these times the chunks
VARIANTS = {"sr-none": 2, "detect-bicubic": 2, "detect-edsr": 3}
#: srpipe eval's default chunk size (EvalSettings.chunk_size)
CHUNK_SIZE = 8
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
            # a COCO class name, so the default detector (COCO YOLO11n) scores the set
            "categories": [{"id": 1, "name": "person"}]}  # fmt: skip
    json_path.write_text(json.dumps(coco))
    return json_path


def _command(tree: Path, args: list[str], ranks: int, out: Path) -> list[str]:
    srpipe = ["-m", "srpipe", "eval", *args, "--scale", "4", "--bootstrap", "200", "-o", str(out)]
    if ranks == 1:
        return ["/usr/bin/time", "-f", "peak_kb %M", sys.executable, *srpipe]
    # /usr/bin/time around each rank: torchrun starts them with --no-python
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
            str(ranks), "--no-python", "/usr/bin/time", "-f", "peak_kb %M", sys.executable,
            *srpipe]  # fmt: skip


def _environment(tree: Path, env: dict[str, str], cache: Path) -> dict[str, str]:
    paths = os.pathsep.join([str(tree), str(tree / "plugins")])
    return {**env, "PYTHONPATH": paths, "OMP_NUM_THREADS": "1", "SRPIPE_CACHE": str(cache)}


def measure(tree: Path, args: list[str], ranks: int, out: Path, env: dict[str, str]) -> dict:
    """One eval in fresh processes and a fresh cache: wall seconds, each process's peak RSS."""
    cache = out.with_name(out.name + ".cache")
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    cmd = _command(tree, args, ranks, out)
    load = os.getloadavg()[0]
    tic = time.perf_counter()
    # run from the tree: ``python -m`` puts the working folder first on sys.path
    done = subprocess.run(
        cmd, env=_environment(tree, env, cache), capture_output=True, text=True, cwd=tree
    )
    wall = time.perf_counter() - tic
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    peaks = [int(kb) / 1024 for kb in re.findall(r"peak_kb (\d+)", done.stderr)]
    return {"wall_s": round(wall, 2), "peak_rss_mb": [round(p, 1) for p in peaks],
            "load_average_before": round(load, 2)}  # fmt: skip


def measure_resume(
    tree: Path, args: list[str], out: Path, env: dict[str, str], chunks: int, uninterrupted_s: float
) -> dict:
    """kill -9 one process once 90% of its ``chunks`` are saved, then time the run resuming it.

    Progress, not time, picks the moment: on a shared machine the same run's time varies.
    """
    cache = out.with_name(out.name + ".cache")
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    cmd, run_env = _command(tree, args, 1, out), _environment(tree, env, cache)
    load = os.getloadavg()[0]
    job = subprocess.Popen(
        cmd, env=run_env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    tic, saved = time.perf_counter(), 0
    while job.poll() is None and saved < 0.9 * chunks:
        time.sleep(0.5)
        saved = len(list((cache / "eval-state").rglob("*.pkl")))
    if job.poll() is not None:
        raise SystemExit(f"{' '.join(cmd)} ended before 90% of its chunks were saved")
    os.killpg(job.pid, signal.SIGKILL)  # the group this function started: time and eval
    job.wait()
    killed_after = time.perf_counter() - tic
    saved = len(list((cache / "eval-state").rglob("*.pkl")))
    tic = time.perf_counter()
    done = subprocess.run([*cmd, "--resume"], env=run_env, capture_output=True, text=True, cwd=tree)
    wall = time.perf_counter() - tic
    if done.returncode != 0:
        raise SystemExit(f"resume {' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    peaks = [int(kb) / 1024 for kb in re.findall(r"peak_kb (\d+)", done.stderr)]
    return {
        "killed_after_s": round(killed_after, 2),
        "chunks_saved_before_kill": saved,
        "chunks": chunks,
        "resume_wall_s": round(wall, 2),
        "uninterrupted_wall_s": uninterrupted_s,
        "resume_share": round(wall / uninterrupted_s, 3),
        "peak_rss_mb": [round(p, 1) for p in peaks],
        "load_average_before": round(load, 2),
    }


def _earlier_commands(args: argparse.Namespace) -> list[str]:
    if not args.append or not Path(args.out).is_file():
        return []
    before = json.loads(Path(args.out).read_text())
    commands = before.get("commands") or [before.get("command", "")]
    return [c for c in commands if c != " ".join(sys.argv)]


def _caps(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (pair.split("=") for pair in text.split(",") if pair)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work)
    env = dict(os.environ)
    trees = {"new": REPO, **({"old": Path(args.old)} if args.old else {})}
    trees = {design: tree for design, tree in trees.items() if design in args.designs.split(",")}
    caps = _caps(args.cap)
    rows, skipped, resumed = [], [], []
    load_start = os.getloadavg()[0]
    if args.append and Path(args.out).is_file():  # a matrix run in parts, one result file
        before = json.loads(Path(args.out).read_text())
        rows, skipped, resumed = before["rows"], before["skipped"], before["resume"]
        load_start = before["load_average_before"]
    for n in [int(v) for v in args.n.split(",")]:
        data = make_coco(work / f"coco{n}", n)
        for name in args.evals.split(","):
            if n > caps.get(name, n):
                skipped.append({"eval": name, "n": n, "why": args.cap_reason})
                continue
            # eval sr reads the folder of images, eval detect the COCO json
            source = data.parent / "images" if EVALS[name][0] == "sr" else data
            task_args = [EVALS[name][0], "--data", str(source), *EVALS[name][1:]]
            for ranks in [int(r) for r in args.ranks.split(",")]:
                for design, tree in trees.items():
                    if n > caps.get("old" if design == "old" else f"ranks{ranks}", n):
                        skipped.append({"eval": name, "n": n, "ranks": ranks, "design": design,
                                        "why": args.cap_reason})  # fmt: skip
                        continue
                    out = work / "out" / f"{design}-{name}-{n}-{ranks}"
                    got = measure(tree, task_args, ranks, out, env)
                    got.update(design=design, eval=name, n=n, ranks=ranks,
                               items_per_s=round(n / got["wall_s"], 2))  # fmt: skip
                    print(json.dumps(got), flush=True)
                    rows.append(got)
                    partial = record(args, load_start, rows, resumed, skipped, measure_peaks=False)
                    Path(args.out).write_text(json.dumps(partial, indent=2) + "\n")
                    if design == "new" and ranks == 1 and n == args.resume_n:
                        out = work / "out" / f"resume-{name}-{n}"
                        chunks = math.ceil(n / CHUNK_SIZE) * VARIANTS[name]
                        again = measure_resume(tree, task_args, out, env, chunks, got["wall_s"])
                        again.update(eval=name, n=n)
                        print(json.dumps(again), flush=True)
                        resumed.append(again)
                        partial = record(
                            args, load_start, rows, resumed, skipped, measure_peaks=False
                        )
                        Path(args.out).write_text(json.dumps(partial, indent=2) + "\n")
    return record(args, load_start, rows, resumed, skipped, measure_peaks=True)


def record(
    args: argparse.Namespace,
    load_start: float,
    rows: list[dict],
    resumed: list[dict],
    skipped: list[dict],
    *,
    measure_peaks: bool,
) -> dict[str, Any]:
    """The result file's content; written after every row too, so a stopped run keeps them."""
    load = os.getloadavg()[0]
    # peaks measured in this run, after it (a partial record, written mid-run, has none)
    found = hardware.detect(measure=measure_peaks, refresh=measure_peaks)
    return {
        "machine": f"{found.cpu}, {found.cores} cores, flags {' '.join(found.flags)}",
        "peaks_gflops": found.peaks if measure_peaks else "not measured (partial run)",
        "load_average_before": round(load_start, 2),
        "load_average_after": round(load, 2),
        "note": args.note,
        "commands": [*_earlier_commands(args), " ".join(sys.argv)],
        "rows": rows,
        "resume": resumed,
        "skipped": skipped,
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
    if record.get("resume"):
        lines += [
            "",
            "Resume after kill -9 once 90% of the chunks were saved (this tree, one process); "
            "the killed run's own pace is the fairer yardstick when the load changed between "
            "runs:",
            "",
            "| eval | N | killed after (chunks saved) | resume wall time | uninterrupted run "
            "| resume / uninterrupted | resume / killed run's time to 90% |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in record["resume"]:
            lines.append(
                f"| {r['eval']} | {r['n']} | {r['killed_after_s']:.1f} s "
                f"({r['chunks_saved_before_kill']} of {r['chunks']}) | "
                f"{r['resume_wall_s']:.1f} s | "
                f"{r['uninterrupted_wall_s']:.1f} s | {100 * r['resume_share']:.0f}% | "
                f"{100 * r['resume_wall_s'] / r['killed_after_s']:.0f}% |"
            )
    if record.get("skipped"):
        lines += ["", "Not measured: " + "; ".join(
            f"{s['eval']} N = {s['n']}"
            + (f" ({s['design']} design, {s['ranks']} rank(s))" if "design" in s else "")
            + f": {s['why']}" for s in record["skipped"]) + "."]  # fmt: skip
    if "load_average_before" in record:
        lines += [
            "",
            f"Load average {record['load_average_before']} before, "
            f"{record['load_average_after']} after (each row's in the result file).",
        ]
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


def merge(part: Path, into: Path) -> None:
    """Add the rows, resume rows, skips and command of result file ``part`` to ``into``."""
    extra, whole = json.loads(part.read_text()), json.loads(into.read_text())
    for key in ("rows", "resume", "skipped"):
        whole[key] = whole.get(key, []) + extra.get(key, [])
    whole["commands"] = whole.get("commands", []) + extra.get("commands", [])
    whole["load_average_after"] = max(whole["load_average_after"], extra["load_average_after"])
    into.write_text(json.dumps(whole, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="100,1000,5000")
    parser.add_argument("--evals", default="sr-none,detect-bicubic,detect-edsr")
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--old", help="another checkout to measure beside this one")
    parser.add_argument("--work", default="/tmp/bench_eval_scale")
    parser.add_argument("--note", default="")
    parser.add_argument(
        "--cap",
        default="",
        help="EVAL=N,...: skip EVAL above N items (old=N: the old design, ranks2=N: two ranks)",
    )
    parser.add_argument("--cap-reason", default="not measured: too long for this CPU")
    parser.add_argument(
        "--resume-n",
        type=int,
        default=0,
        help="N at which to measure resume after kill -9 (0: not measured)",
    )
    parser.add_argument("--designs", default="new,old", help="which of new,old to run")
    parser.add_argument(
        "--append", action="store_true", help="add to the rows already in --out (a matrix in parts)"
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/eval_scale.json"))
    parser.add_argument("--merge", help="a result JSON measured beside this one: add to --out")
    parser.add_argument("--publish", help="a result JSON: write its BENCHMARKS.md section")
    args = parser.parse_args()
    if args.merge:  # rows measured by a run beside this one, into --out
        merge(Path(args.merge), Path(args.out))
        return
    if args.publish:
        publish(Path(args.publish), REPO / "BENCHMARKS.md")
        return
    record = run(args)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
