"""How fast the headline command runs against what this machine allows (issue 26).

Not a test: run it by hand; each step writes a result file under benchmarks/results/ and
``table`` generates BENCHMARKS.md's "run: the headline command" section from them::

    python benchmarks/bench_run.py exactness     # bf16 vs fp32 per model and scale
    python benchmarks/bench_run.py backends      # eager fp32/bf16, torch.compile, ONNX Runtime
    python benchmarks/bench_run.py end-to-end --frames 120 --naive-frames 24
    python benchmarks/bench_run.py table         # the BENCHMARKS.md section from the files

* **exactness**: each bundled model at each listed scale, fp32 and bf16 autocast on the
  validation photos (bicubic-downscaled, whole): the share of output pixels within one uint8
  level, recorded in ``srpipe.models.zoo.BF16_AGREEMENT`` by hand from this file.
* **backends**: EDSR x4 on a batch of 320x180 and of 160x68 frames, and the detector at the
  upscaled size: seconds per frame after warm-up, the warm-up (compilation) itself, the
  time a 100-frame clip would take, and the exactness against eager fp32. OpenVINO only
  when it is importable (it is not in requirements.lock).
* **end-to-end**: ``srpipe run detect --sr edsr --scale 4`` as a subprocess (start-up
  included) on the demo clip (320x180) and on a 160x68 crop of it, against the naive loop
  (decode, ``Upscaler`` fp32, ``YOLO.predict``, one frame at a time) in the same run; the
  command's stage times; GFLOP per frame (SR and detector convolutions) and the fraction of
  the machine's best measured matmul peak (fp32 or native bf16) the whole command reaches.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detect import staged  # a sibling script, not a package
from srpipe_detect.synth import make_demo_video

from srpipe import atomic
from srpipe.upscaling import hardware

RESULTS = Path(__file__).resolve().parent / "results"
BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
EXACTNESS = RESULTS / "bf16_exactness.json"
BACKENDS = RESULTS / "run_backends.json"
END_TO_END = RESULTS / "run_cpu.json"
#: (model, scale) pairs whose bf16 exactness is measured
MODELS = (("edsr", 2), ("edsr", 4), ("rcan", 4), ("dat-light", 4))


def machine() -> dict[str, Any]:
    """The CPU's name, flags, cores and measured peaks (srpipe.upscaling.hardware), the load."""
    import torch

    found = hardware.detect(measure=True, refresh=True)
    return {
        **found.to_dict(),
        "best_cpu_peak": found.best_cpu_peak,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def within_one_level(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Share of uint8 values within one level, and the largest difference."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return float((diff <= 1).mean()), int(diff.max())


# --------------------------------------------------------------------------- exactness


def exactness(_: argparse.Namespace) -> dict[str, Any]:
    from srpipe.data.sources import read_still, with_role
    from srpipe.image.resize import imresize
    from srpipe.upscaling.forward import super_resolve
    from srpipe.upscaling.upscaler import Upscaler

    photos = [(s.name, read_still(s.path())) for s in with_role("validation", kind="image")]
    rows = []
    for name, scale in MODELS:
        model = Upscaler(name, scale, device="cpu", precision="fp32").model

        def fp32(lr: np.ndarray, m: Any = model, s: int = scale) -> np.ndarray:
            return super_resolve(m, [lr], scale=s, device="cpu", precision="fp32")[0]

        def bf16(lr: np.ndarray, m: Any = model, s: int = scale) -> np.ndarray:
            # the forward itself: an Upscaler runs fp32 where bf16 would be emulated
            return super_resolve(m, [lr], scale=s, device="cpu", precision="bf16")[0]

        within = pixels = worst = 0
        for _, hr in photos:
            h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
            lr = imresize(hr[:h, :w], 1 / scale, method="bicubic")
            share, largest = within_one_level(fp32(lr), bf16(lr))
            size = h * w * 3
            within, pixels, worst = within + share * size, pixels + size, max(worst, largest)
        rows.append(
            {"model": name, "scale": scale, "within_one_level": round(within / pixels, 6),
             "max_diff": worst, "photos": [p for p, _ in photos]}
        )  # fmt: skip
        print(rows[-1], flush=True)
    return {"machine": machine(), "rows": rows}


# --------------------------------------------------------------------------- backends


def _timed(call: Any, repeats: int) -> tuple[float, float]:
    """(first call's seconds, the best of ``repeats`` further calls)."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return first, best


def _sr_backends(frames: np.ndarray, repeats: int) -> list[dict[str, Any]]:
    import torch

    from srpipe.upscaling.forward import images_to_tensor, to_pixels
    from srpipe.upscaling.upscaler import Upscaler

    eager = Upscaler("edsr", 4, device="cpu", precision="fp32", batch_size=len(frames))
    reference = eager.upscale_batch(list(frames))
    x = images_to_tensor(list(frames)).contiguous(memory_format=torch.channels_last)
    runs: dict[str, Any] = {
        "eager fp32 (channels_last)": lambda: eager.upscale_batch(list(frames)),
    }
    bf16 = Upscaler("edsr", 4, device="cpu", precision="bf16", batch_size=len(frames))
    emulated = "" if bf16.precision == "bf16" else " (emulated here: the Upscaler ran fp32)"
    runs[f"eager bf16 autocast{emulated}"] = lambda: bf16.upscale_batch(list(frames))
    compiled = torch.compile(eager.model)

    def run_compiled() -> list[np.ndarray]:
        with torch.inference_mode():
            return to_pixels(compiled(x).float())

    runs["torch.compile fp32 (inductor)"] = run_compiled
    runs["onnxruntime fp32"] = _onnxruntime(eager.model, x)
    try:
        import openvino  # noqa: F401
    except ImportError:
        runs["openvino"] = "not importable here (not in requirements.lock)"
    rows = []
    for name, call in runs.items():
        if isinstance(call, str):
            rows.append({"backend": name, "skipped": call})
            continue
        try:
            first, best = _timed(call, repeats)
            share, worst = within_one_level(np.stack(call()), np.stack(reference))
        except Exception as exc:  # a backend that cannot run here is reported, not fatal
            rows.append({"backend": name, "skipped": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        per_frame = best / len(frames)
        rows.append(
            {"backend": name, "first_call_s": round(first, 2), "s_per_frame": round(per_frame, 3),
             "clip_100_frames_s": round(first + 100 * per_frame - per_frame * len(frames), 1),
             "within_one_level": round(share, 6), "max_diff": worst}
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def _onnxruntime(model: Any, x: Any) -> Any:
    import onnxruntime as ort
    import torch

    from srpipe.upscaling.forward import to_pixels

    path = Path(tempfile.mkdtemp()) / "edsr_x4.onnx"
    torch.onnx.export(
        model, (x.contiguous(),), str(path), input_names=["x"], output_names=["y"], dynamo=False
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {"x": x.contiguous().numpy()}
    return lambda: to_pixels(torch.from_numpy(session.run(None, feed)[0]))


def _detector_rows(upscaled: list[np.ndarray], repeats: int) -> list[dict[str, Any]]:
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext

    rows = []
    for label, options in (
        ("eager, upscaled size (default)", {"detector": "tiny-objects"}),
        ("eager, --imgsz 640", {"detector": "tiny-objects", "imgsz": 640}),
    ):
        task = DetectTask()
        task.setup(TaskContext("run", device="cpu", scales=(4,), options=options))
        first, best = _timed(lambda t=task: t.predict(upscaled), repeats)
        rows.append(
            {"backend": f"detector {label}", "first_call_s": round(first, 2),
             "s_per_frame": round(best / len(upscaled), 3)}
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def backends(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    clip = Path(tempfile.mkdtemp()) / "demo.mp4"
    make_demo_video(clip, 4)
    from srpipe_video.frames import FrameSequence

    full = np.stack([f.image for f in FrameSequence(clip)])
    report: dict[str, Any] = {"machine": machine(), "threads": args.threads, "sizes": {}}
    report["frames_per_batch"] = len(full)
    for label, frames in (("320x180", full), ("160x68", full[:, 56:124, 80:240])):
        report["sizes"][label] = _sr_backends(np.ascontiguousarray(frames), args.repeats)
    from srpipe.upscaling.upscaler import Upscaler

    upscaled = Upscaler("edsr", 4, device="cpu", precision="fp32").upscale_batch(list(full[:2]))
    report["detector_1280x720"] = _detector_rows(upscaled, args.repeats)
    return report


# --------------------------------------------------------------------------- end to end


def _command(video: Path, out: Path, *extra: str) -> dict[str, Any]:
    """``srpipe run detect --sr edsr --scale 4`` as a fresh process: wall includes start-up."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "srpipe", "run", "detect", "--sr", "edsr", "--scale", "4",
         "--detector", "tiny-objects", str(video), "-o", str(out), "--json", *extra],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1:]}
    result = json.loads(done.stdout)
    return {
        "frames": result["frames"], "wall_s": round(wall, 2),
        "fps": round(result["frames"] / wall, 3), "seconds": result["seconds"],
        "precision": result.get("precision"), "precision_reason": result.get("precision_reason"),
        "detections": result["summary"].get("detections"),
    }  # fmt: skip


def _gflop_per_frame(lr_size: tuple[int, int]) -> dict[str, float]:
    """Convolution GFLOP of EDSR x4 on one frame and of the detector on its upscaled size."""
    import torch
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext
    from srpipe.upscaling.upscaler import Upscaler

    width, height = lr_size
    sr = conv_flops_of(Upscaler("edsr", 4, device="cpu").model, torch.rand(1, 3, height, width))
    task = DetectTask()
    task.setup(TaskContext("run", device="cpu", scales=(4,), options={"detector": "tiny-objects"}))
    side = lambda n: int(np.ceil(n * 4 / 32) * 32)  # noqa: E731  (the detector's letterbox)
    net = task.model.model
    detector = conv_flops_of(net, torch.rand(1, 3, side(height), side(width)))
    return {"sr": round(sr / 1e9, 1), "detector": round(detector / 1e9, 1)}


def conv_flops_of(model: Any, x: Any) -> int:
    return hardware.conv_flops(model.float().eval(), x)


def end_to_end(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp())
    demo = work / "demo_320x180.mp4"
    made = make_demo_video(demo, args.frames)
    small = work / "crop_160x68.mp4"
    _crop(demo, small, (80, 56, 160, 68))
    info = machine()
    best_peak = info["best_cpu_peak"]
    clips = []
    for video, size in ((demo, (320, 180)), (small, (160, 68))):
        flops = _gflop_per_frame(size)
        command = _command(video, work / f"out_{size[0]}")
        naive = _naive(video, args.naive_frames, work / f"naive_{size[0]}.mp4")
        per_frame = flops["sr"] + flops["detector"]
        row = {"clip": f"{size[0]}x{size[1]}", "source": made["source"],
               "gflop_per_frame": flops, "command": command, "naive": naive}  # fmt: skip
        if "fps" in command:
            achieved = per_frame * command["fps"]
            row["gflops_end_to_end"] = round(achieved, 1)
            row["fraction_of_best_peak"] = round(achieved / best_peak, 3)
            row["speed_up_vs_naive"] = round(command["fps"] / naive["fps"], 2)
        if size == (160, 68):  # do bigger batches bring small frames up to speed?
            larger = _command(video, work / "out_160_b16", "--batch-size", "16")
            row["command_batch_16"] = larger
            if "fps" in larger:
                row["fraction_of_best_peak_batch_16"] = round(
                    per_frame * larger["fps"] / best_peak, 3
                )
        clips.append(row)
        print(row, flush=True)
    return {"machine": info, "best_peak_gflops": best_peak, "frames": args.frames, "clips": clips,
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()]}  # fmt: skip


def _crop(src: Path, dst: Path, box: tuple[int, int, int, int]) -> None:
    from srpipe_video.frames import FrameSequence
    from srpipe_video.writer import FrameWriter

    x, y, w, h = box
    writer = FrameWriter(dst, 24.0, (w, h))
    for frame in FrameSequence(src):
        writer.write(np.ascontiguousarray(frame.image[y : y + h, x : x + w]))
    writer.close()


def _naive(video: Path, frames: int, out: Path) -> dict[str, Any]:
    """Decode, Upscaler fp32, the detector's predict, draw, encode: one frame at a time."""
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext
    from srpipe.upscaling.upscaler import Upscaler

    head = out.with_suffix(".head.mp4")
    _first_frames(video, head, frames)
    up = Upscaler("edsr", 4, device="cpu", precision="fp32", batch_size=1)
    task = DetectTask()
    task.setup(TaskContext("run", device="cpu", scales=(4,), options={"detector": "tiny-objects"}))
    return staged(head, up, task, 1, out)


def _first_frames(src: Path, dst: Path, count: int) -> None:
    from srpipe_video.frames import FrameSequence
    from srpipe_video.writer import FrameWriter

    writer = None
    for frame, _ in zip(FrameSequence(src), range(count)):
        if writer is None:
            h, w = frame.image.shape[:2]
            writer = FrameWriter(dst, 24.0, (w, h))
        writer.write(frame.image)
    assert writer is not None
    writer.close()


# --------------------------------------------------------------------------- table


def table(_: argparse.Namespace) -> None:
    """The BENCHMARKS.md section, generated from the three result files."""
    lines = ["## run: the headline command (`benchmarks/bench_run.py`)", ""]
    lines.append(
        "<!-- generated by benchmarks/bench_run.py table from benchmarks/results/"
        "bf16_exactness.json, run_backends.json, run_cpu.json; do not edit -->"
    )
    if END_TO_END.is_file():
        e2e = json.loads(END_TO_END.read_text())
        m = e2e["machine"]
        lines += ["", f"CPU: {m['cpu']}, {m['cores']} cores, flags {' '.join(m['flags'])}; "
                  f"measured matmul peaks {m['peaks']} GFLOP/s; best peak used: "
                  f"{e2e['best_peak_gflops']} GFLOP/s; load average at the start "
                  f"{m['load_average']}, at the end {e2e['load_average_at_end']} (a shared "
                  "2-core machine: other work lowers both the peaks and the runs).", "",
                  f"`srpipe run detect --sr edsr --scale 4 CLIP` ({e2e['frames']} frames, "
                  "start-up included) against the naive loop (one frame at a time, fp32):", "",
                  "| clip | GFLOP/frame (SR + detector) | command frames/s | naive frames/s "
                  "| speed-up | precision | end-to-end GFLOP/s | fraction of best peak "
                  "| stages (s) |",
                  "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for row in e2e["clips"]:
            cmd, naive, g = row["command"], row["naive"], row["gflop_per_frame"]
            if "fps" not in cmd:
                lines.append(f"| {row['clip']} | - | failed: {cmd} | | | | | | |")
                continue
            stages = ", ".join(f"{k} {v:.1f}" for k, v in cmd["seconds"].items())
            lines.append(
                f"| {row['clip']} | {g['sr']} + {g['detector']} | {cmd['fps']} | {naive['fps']} "
                f"({naive['frames']} frames) | {row['speed_up_vs_naive']}x | {cmd['precision']} | "
                f"{row['gflops_end_to_end']} | {100 * row['fraction_of_best_peak']:.0f}% | "
                f"{stages} |"
            )
        if any(row.get("fraction_of_best_peak", 0) > 1 for row in e2e["clips"]):
            lines += ["", "A fraction over 100% means the peak, measured once at the start, "
                      "was lowered by other load on the machine then: that run's fractions "
                      "are not comparable."]  # fmt: skip
        for row in e2e["clips"]:
            larger = row.get("command_batch_16", {})
            if "fps" in larger:
                lines += ["", f"{row['clip']} with `--batch-size 16`: {larger['fps']} frames/s, "
                          f"{100 * row['fraction_of_best_peak_batch_16']:.0f}% of the best peak "
                          f"(default batch 4: {row['command'].get('fps')} frames/s)."]  # fmt: skip
    if BACKENDS.is_file():
        bk = json.loads(BACKENDS.read_text())
        lines += ["", f"Backends, {bk['threads']} thread(s) (EDSR x4, a batch of "
                  f"{bk.get('frames_per_batch', 4)} frames; exactness against eager fp32 uint8; "
                  f"peaks then {bk['machine']['peaks']} GFLOP/s at load average "
                  f"{bk['machine']['load_average']}):", "",
                  "| frames | backend | first call (s) | s/frame | 100-frame clip (s) | "
                  "within one level | max diff |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for size, rows in [*bk["sizes"].items(), ("1280x720 (upscaled)", bk["detector_1280x720"])]:
            for r in rows:
                if "skipped" in r:
                    lines.append(f"| {size} | {r['backend']} | skipped: {r['skipped']} |||||")
                    continue
                lines.append(
                    f"| {size} | {r['backend']} | {r['first_call_s']} | {r['s_per_frame']} | "
                    f"{r.get('clip_100_frames_s', '-')} | {r.get('within_one_level', '-')} | "
                    f"{r.get('max_diff', '-')} |"
                )
    if EXACTNESS.is_file():
        ex = json.loads(EXACTNESS.read_text())
        lines += ["", "bf16 autocast vs fp32 on the validation photos (`--precision auto` "
                  "uses bf16 only at >= 99.9% within one level, only where bf16 is native):", "",
                  "| model | scale | within one uint8 level | max diff |",
                  "|---|---|---|---|"]  # fmt: skip
        for r in ex["rows"]:
            lines.append(
                f"| {r['model']} | x{r['scale']} | {100 * r['within_one_level']:.3f}% | "
                f"{r['max_diff']} |"
            )
    _replace_section(BENCHMARKS_MD, "\n".join(lines) + "\n")


def _replace_section(path: Path, section: str) -> None:
    begin, end = "<!-- bench_run:begin -->", "<!-- bench_run:end -->"
    text = path.read_text() if path.is_file() else ""
    block = f"{begin}\n{section}{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    atomic.write_text(path, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("exactness", "backends", "end-to-end", "table"))
    parser.add_argument("--threads", type=int, default=1, help="backends: torch threads")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--frames", type=int, default=120, help="end-to-end: clip length")
    parser.add_argument("--naive-frames", type=int, default=24, help="naive loop: frames")
    args = parser.parse_args()
    if args.step == "table":
        table(args)
        return
    step = {"exactness": exactness, "backends": backends, "end-to-end": end_to_end}[args.step]
    target = {"exactness": EXACTNESS, "backends": BACKENDS, "end-to-end": END_TO_END}[args.step]
    report = step(args)
    atomic.write_json(target, report)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
