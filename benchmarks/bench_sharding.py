"""Scaling of ``srpipe eval detect`` over torchrun ranks: 1 rank vs 2 ranks, one thread each.

Not a test: run it by hand (figures go in BENCHMARKS.md, "Sharding")::

    python benchmarks/bench_sharding.py --images 32 --size 192 --repeats 2

What it does:

1. generates the detect plugin's synthetic set (``--images`` val images of ``--size`` px);
2. runs the same SR-heavy comparison (``--sr edsr --compare bicubic --scale 4``, cold
   upscale cache every time) as one plain process and as ``torchrun --nproc_per_node 2``,
   each process limited to one thread (``OMP_NUM_THREADS=1``), so the ratio shows what
   sharding buys and not torch's own threading; the two are interleaved ``--repeats``
   times and the best wall time of each is kept (start-up, model loading, gather,
   bootstrap and report writing included: the whole command);
3. checks that the two report.json files agree (timings, environment, notes -- they name
   the cache folder -- and the command line aside);
4. prints the load average before and after (the machine may be shared: read the speed-up
   with it) and a JSON summary; ``--json PATH`` writes it too.

``--gpu`` runs the 1-rank case with ``--device cuda`` as well (where there is one).

``--video-frames N`` adds one long video: ``srpipe run video`` (EDSR x4) on an N-frame
320x180 demo clip, as one process and over 2 ranks (frame ranges, stitched by rank 0);
its records.json files must be equal (the H.264 frames are not: each rank encodes its
own part).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _normalise(v)
            for k, v in value.items()
            if k not in ("environment", "notes", "command") and not k.startswith("seconds_")
        }
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout}\n{done.stderr}")
    return seconds


def _video_summary(work: Path, best: dict[str, float]) -> dict[str, Any]:
    records = [
        (work / f"out-video,{ranks}-0" / "x4.records.json").read_text()
        for ranks in ("1rank", "2ranks")
    ]
    return {
        "speedup_video_2_ranks": best["video, 1 rank"] / best["video, 2 ranks"],
        "video_records_equal": records[0] == records[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--video-frames", type=int, default=0, help="0: no video case")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
    from srpipe_detect.synth import SynthConfig, generate

    work = Path(tempfile.mkdtemp(prefix="bench-sharding-"))
    data = generate(
        work / "data",
        SynthConfig(train=1, val=args.images, size=args.size, min_objects=3, max_objects=6),
    )
    base_env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
    }
    eval_args = ["eval", "detect", "--data", str(data), "--sr", "edsr", "--compare", "bicubic",
                 "--scale", "4", "--bootstrap", str(args.bootstrap)]  # fmt: skip
    py = sys.executable
    cases = {
        "1 rank": [py, "-m", "srpipe", *eval_args, "--device", "cpu"],
        "2 ranks": [py, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "-m", "srpipe", *eval_args, "--device", "cpu"],
    }  # fmt: skip
    if args.gpu:
        cases["1 GPU"] = [py, "-m", "srpipe", *eval_args, "--device", "cuda"]
    if args.video_frames:
        from srpipe_detect.synth import make_demo_video

        clip = work / "clip.mp4"
        make_demo_video(clip, frames=args.video_frames)
        video_args = ["run", "video", str(clip), "--sr", "edsr", "--scale", "4", "--device", "cpu"]
        cases["video, 1 rank"] = [py, "-m", "srpipe", *video_args]
        cases["video, 2 ranks"] = [*cases["2 ranks"][:6], "-m", "srpipe", *video_args]
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for repeat in range(args.repeats):
        for name, cmd in cases.items():
            out = work / f"out-{name.replace(' ', '')}-{repeat}"
            env = {
                **base_env,
                "SRPIPE_CACHE": str(work / f"cache-{name.replace(' ', '')}-{repeat}"),
            }
            target = out / "x4.mp4" if name.startswith("video") else out
            times[name].append(_run([*cmd, "-o", str(target)], env))
            print(f"{name}: {times[name][-1]:.1f} s", file=sys.stderr)
    load_after = os.getloadavg()
    reports = {
        name: _normalise(
            json.loads((work / f"out-{name.replace(' ', '')}-0" / "report.json").read_text())
        )
        for name in ("1 rank", "2 ranks")
    }
    best = {name: min(values) for name, values in times.items()}
    summary = {
        "images": args.images,
        "size": args.size,
        "bootstrap": args.bootstrap,
        "cpu_count": os.cpu_count(),
        "seconds": times,
        "best": best,
        "speedup_2_ranks": best["1 rank"] / best["2 ranks"],
        "reports_equal": reports["1 rank"] == reports["2 ranks"],
        **(_video_summary(work, best) if args.video_frames else {}),
        "video_frames": args.video_frames,
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    print(json.dumps(summary, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
