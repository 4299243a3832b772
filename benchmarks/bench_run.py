"""How fast the headline command runs against what this machine allows (issue 26).

Not a test: run it by hand; each step writes a result file under benchmarks/results/ and
``table`` generates BENCHMARKS.md's "run: the headline command" section from them::

    python benchmarks/bench_run.py exactness     # bf16 vs fp32 per model and scale
    python benchmarks/bench_run.py detector-exactness  # the detector's bf16 boxes vs fp32's
    python benchmarks/bench_run.py backends      # eager, torch.compile, ONNX Runtime, OpenVINO
    python benchmarks/bench_run.py end-to-end --frames 120 --naive-frames 24
    python benchmarks/bench_run.py default-detector --frames 120  # the command as a user runs it
    python benchmarks/bench_run.py table         # the BENCHMARKS.md section from the files

* **exactness**: each bundled model at each listed scale, fp32 and bf16 autocast on the
  validation photos (bicubic-downscaled, whole): the share of output pixels within one uint8
  level, recorded in ``srpipe.models.zoo.BF16_AGREEMENT`` by hand from this file.
* **detector-exactness**: the bundled detector in bf16 (fp32 box decode) against fp32 on its
  validation images, at their size and EDSR x4 upscaled: the detect task's agreement metrics,
  recorded in ``srpipe_detect.precision.DETECTOR_BF16_AGREEMENT`` by hand from this file.
* **backends**: EDSR x4 on a batch of 320x180 and of 160x68 frames, and the detector at the
  upscaled size: seconds per frame after warm-up, the warm-up (compilation) itself, the
  time a 100-frame clip would take, and the exactness against eager fp32. Torch eager
  (channels_last), torch.compile (inductor), ONNX Runtime and OpenVINO (the ``bench`` extra)
  for both models.
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
from srpipe.hashing import sha256_file
from srpipe.upscaling import hardware

RESULTS = Path(__file__).resolve().parent / "results"
BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
EXACTNESS = RESULTS / "bf16_exactness.json"
DETECTOR_EXACTNESS = RESULTS / "detector_bf16_exactness.json"
DEFAULT_DETECTOR = RESULTS / "run_cpu_default_detector.json"
BACKENDS = RESULTS / "run_backends.json"
END_TO_END = RESULTS / "run_cpu.json"
BATCHING = RESULTS / "run_batching.json"
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
    from srpipe.models.shuffle_fold import folded_copy
    from srpipe.upscaling.forward import super_resolve
    from srpipe.upscaling.upscaler import Upscaler

    photos = [(s.name, read_still(s.path())) for s in with_role("validation", kind="image")]
    rows = []
    for name, scale in MODELS:
        model = Upscaler(name, scale, device="cpu", precision="fp32").model

        def fp32(lr: np.ndarray, m: Any = model, s: int = scale) -> np.ndarray:
            return super_resolve(m, [lr], scale=s, device="cpu", precision="fp32")[0]

        def bf16(lr: np.ndarray, m: Any = folded_copy(model), s: int = scale) -> np.ndarray:
            # the forward itself (folded, as the Upscaler runs bf16): an Upscaler runs fp32
            # where bf16 would be emulated
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


def detector_exactness(args: argparse.Namespace) -> dict[str, Any]:
    """The bundled detector in bf16 (fp32 decode) against fp32 on its validation images, at
    their own size and EDSR x4 upscaled: the detect task's agreement metrics."""
    import cv2
    import torch
    from srpipe_detect.precision import (
        BF16_AGREEMENT_FLOOR,
        agreement,
        detector_precision,
    )
    from srpipe_detect.synth import ensure_default_dataset
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext
    from srpipe.upscaling.upscaler import Upscaler

    torch.set_num_threads(args.threads)
    paths = sorted((ensure_default_dataset() / "images" / "val").glob("*.png"))
    images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
    task = DetectTask()
    # --conf 0.25: the boxes a run draws; fp32 here, the bf16 forward is switched on below
    options = {"detector": "tiny-objects", "detector_precision": "fp32"}
    task.setup(TaskContext("run", device="cpu", scales=(4,), options=options))
    upscaler = Upscaler("edsr", 4, device="cpu", precision="auto")
    upscaled = upscaler.upscale_batch(images[: args.detector_upscaled])
    sets = {"320 (validation images)": images, "1280 (EDSR x4 of them)": upscaled}
    rows = []
    for label, frames in sets.items():
        found: dict[str, list[Any]] = {}
        seconds: dict[str, float] = {}
        for precision in ("fp32", "bf16"):
            with detector_precision(precision, "cpu"):  # warm-up, untimed (first-call costs)
                task.predict(frames[:4])
            found[precision], start = [], time.perf_counter()
            for i in range(0, len(frames), 4):
                with detector_precision(precision, "cpu"):
                    found[precision] += task.predict(frames[i : i + 4])
            seconds[precision] = time.perf_counter() - start
        rows.append(
            {"size": label, "images": len(frames), **agreement(found["fp32"], found["bf16"]),
             # the metric's own ceiling: 101-point AP of boxes scored against themselves
             "fp32_against_itself": agreement(found["fp32"], found["fp32"])["agree50"],
             "s_per_image": {k: round(v / len(frames), 3) for k, v in seconds.items()}}
        )  # fmt: skip
        print(rows[-1], flush=True)
    # For context, not a criterion: the fp32 detector on the same frames upscaled by SR in
    # fp32 instead of the bf16 that SR's own rule accepts, scored the same way
    sr_fp32 = Upscaler("edsr", 4, device="cpu", precision="fp32")
    from_fp32_sr = [
        box for i in range(0, len(upscaled), 4)
        for box in task.predict(sr_fp32.upscale_batch(images[i : min(i + 4, len(upscaled))]))
    ]  # fmt: skip
    from_bf16_sr = [
        box for i in range(0, len(upscaled), 4) for box in task.predict(upscaled[i : i + 4])
    ]
    context = {
        "what": "fp32 detector: boxes on bf16-SR frames against boxes on fp32-SR frames",
        **agreement(from_fp32_sr, from_bf16_sr),
        "fp32_against_itself": agreement(from_fp32_sr, from_fp32_sr)["agree50"],
    }
    print(context, flush=True)
    return {
        "machine": machine(),
        "sr_precision_context": context,
        "detector": task.detector_path.split("/")[-1],
        "sha256": sha256_file(task.detector_path),
        "floor": BF16_AGREEMENT_FLOOR,
        "sr_precision": upscaler.precision,
        "rows": rows,
    }


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
    runs[f"eager bf16 autocast, last shuffle folded{emulated}"] = lambda: bf16.upscale_batch(
        list(frames)
    )
    compiled = torch.compile(eager.model)

    def run_compiled() -> list[np.ndarray]:
        with torch.inference_mode():
            return to_pixels(compiled(x).float())

    runs["torch.compile fp32 (inductor)"] = run_compiled
    onnx_path = _onnx_export(eager.model, x, "edsr_x4")
    runs["onnxruntime fp32"] = _or_why(_onnxruntime, onnx_path, x.contiguous().numpy(), to_pixels)
    for hint in ("f32", "bf16"):
        runs[f"openvino {hint} (inference precision hint)"] = _or_why(
            _openvino, onnx_path, x.contiguous().numpy(), hint, to_pixels
        )
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


def _onnx_export(model: Any, x: Any, name: str) -> Path:
    """The model as ONNX (dynamic batch and size), for ONNX Runtime and OpenVINO alike."""
    import torch

    path = Path(tempfile.mkdtemp()) / f"{name}.onnx"
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        model, (x.contiguous(),), str(path), input_names=["x"], output_names=["y"],
        dynamic_axes={"x": axes}, dynamo=False,
    )  # fmt: skip
    return path


def _or_why(make: Any, *args: Any) -> Any:
    """``make(*args)`` (a backend's call), or why it could not be set up here (a row says so)."""
    try:
        return make(*args)
    except Exception as exc:  # a backend that cannot load the model is reported, not fatal
        return f"{type(exc).__name__}: {exc}"[:200]


def _onnxruntime(path: Path, x: np.ndarray, convert: Any) -> Any:
    """A call of the ONNX model through ONNX Runtime's CPU provider, as torch does threads."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda: convert(torch.from_numpy(session.run(None, {"x": x})[0]))


def _openvino(path: Path, x: np.ndarray, hint: str, convert: Any) -> Any:
    """A call of the ONNX model through OpenVINO's CPU plugin at an inference precision hint
    (its convolutions may take Winograd-style paths that need fewer multiplications). The
    model is read from ONNX, not converted from torch: the converter is a separate tool."""
    try:
        import openvino as ov
    except ImportError:
        return "not importable here (pip install -c requirements.lock 'srpipe[bench]')"
    import torch

    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(str(path)), "CPU",
        {"INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": torch.get_num_threads(),
         "PERFORMANCE_HINT": "LATENCY"},
    )  # fmt: skip
    request = compiled.create_infer_request()
    return lambda: convert(torch.from_numpy(np.asarray(request.infer({0: x})[0])))


def _detector_rows(upscaled: list[np.ndarray], repeats: int) -> list[dict[str, Any]]:
    """The detector on upscaled frames: the task's whole predict (letterbox, forward, NMS) per
    precision and size, then the network's forward alone per backend, with how far its
    confident boxes (fp32 score > 0.25) and scores move from eager fp32's."""
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext

    rows = []
    for label, options in (
        ("task.predict fp32, upscaled size", {"detector_precision": "fp32"}),
        ("task.predict bf16 (fp32 decode), upscaled size", {"detector_precision": "bf16"}),
        ("task.predict fp32, --imgsz 640", {"detector_precision": "fp32", "imgsz": 640}),
    ):
        task = DetectTask()
        options = {"detector": "tiny-objects", **options}
        task.setup(TaskContext("run", device="cpu", scales=(4,), options=options))
        first, best = _timed(lambda t=task: t.predict(upscaled), repeats)
        rows.append(
            {"backend": f"detector {label} ({task.precision})", "first_call_s": round(first, 2),
             "s_per_frame": round(best / len(upscaled), 3)}
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows + _detector_forward_rows(task.model.model, upscaled, repeats)


def _detector_forward_rows(net: Any, upscaled: list[np.ndarray], repeats: int) -> list[dict]:
    import copy

    import torch
    from srpipe_detect.precision import detector_precision

    class Decoded(torch.nn.Module):  # the decoded predictions alone (what NMS takes)
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            return self.inner(x)[0]

    model = Decoded(copy.deepcopy(net).float().fuse()).eval()
    h, w = upscaled[0].shape[:2]
    side = lambda n: int(np.ceil(n / 32) * 32)  # noqa: E731  (the detector's letterbox)
    batch = np.full((len(upscaled), side(h), side(w), 3), 114, np.uint8)
    for i, frame in enumerate(upscaled):
        batch[i, :h, :w] = frame
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div(255).contiguous()
    with torch.inference_mode():
        reference = model(x)
    confident = reference[:, 4:].amax(1) > 0.25  # (batch, candidates)

    def eager(memory: Any, precision: str) -> Any:
        xm = x.contiguous(memory_format=memory)
        net_m = copy.deepcopy(model).to(memory_format=memory)  # its own copy: .to() is in place

        def call() -> Any:
            with torch.inference_mode(), detector_precision(precision, "cpu"):
                return net_m(xm)

        return call

    compiled = torch.compile(copy.deepcopy(model))

    def run_compiled() -> Any:
        with torch.inference_mode():
            return compiled(x)

    runs: dict[str, Any] = {
        "eager fp32": eager(torch.contiguous_format, "fp32"),
        "eager fp32 (channels_last)": eager(torch.channels_last, "fp32"),
        "eager bf16 autocast, fp32 decode (channels_last)": eager(torch.channels_last, "bf16"),
        "torch.compile fp32 (inductor)": run_compiled,
    }
    path = _onnx_export(copy.deepcopy(model), x, "detector")
    runs["onnxruntime fp32"] = _or_why(_onnxruntime, path, x.numpy(), lambda y: y)
    for hint in ("f32", "bf16"):
        runs[f"openvino {hint} (whole graph, decode included)"] = _or_why(
            _openvino, path, x.numpy(), hint, lambda y: y
        )
    rows = []
    for name, call in runs.items():
        label = f"detector forward {name}"
        if isinstance(call, str):
            rows.append({"backend": label, "skipped": call})
            continue
        try:
            first, best = _timed(call, repeats)
            out = call().float()
        except Exception as exc:  # a backend that cannot run here is reported, not fatal
            rows.append({"backend": label, "skipped": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        moved = (out[:, :4] - reference[:, :4]).abs().amax(1)[confident]
        rows.append(
            {"backend": label, "first_call_s": round(first, 2),
             "s_per_frame": round(best / len(upscaled), 3),
             "confident_boxes_within_1px": round(float((moved <= 1).float().mean()), 6),
             "max_score_diff": round(float((out[:, 4:] - reference[:, 4:]).abs().max()), 4)}
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


# --------------------------------------------------------------------------- batching


def batching(args: argparse.Namespace) -> dict[str, Any]:
    """SR and detector GFLOP/s by frame size and frames per forward, at 1 and 2 threads.

    Each (stage, size, batch) case runs the same frames; the cases are interleaved over
    ``--repeats`` rounds and the best round is kept, so load from other work on a shared
    machine (which only ever slows a case) hurts every case alike and the ratios hold.
    """
    import torch
    from srpipe_detect.task import DetectTask
    from srpipe_video.frames import FrameSequence

    from srpipe.task import TaskContext
    from srpipe.upscaling.upscaler import Upscaler

    clip = Path(tempfile.mkdtemp()) / "demo.mp4"
    make_demo_video(clip, args.batch_frames)
    full = [f.image for f in FrameSequence(clip)]
    sizes = {
        "320x180": (full[: min(4, len(full))], (1, 4)),
        "160x68": ([np.ascontiguousarray(f[56:124, 80:240]) for f in full], args.batches),
    }
    report: dict[str, Any] = {"machine": machine(), "frames": args.batch_frames, "threads": {}}
    for threads in args.thread_counts:
        torch.set_num_threads(threads)
        # 2 s of repeats, the best kept: a busy moment of a shared machine lowers it less
        peaks = {name: hardware.measure_peak(name, seconds=2.0) for name in ("fp32", "bf16")}
        up = Upscaler("edsr", 4, device="cpu", precision="auto", batch_size=max(args.batches))
        task = DetectTask()
        task.setup(
            TaskContext("run", device="cpu", scales=(4,), options={"detector": "tiny-objects"})
        )
        cases: dict[tuple[str, str, int], Any] = {}
        for label, (frames, batches) in sizes.items():
            upscaled = up.upscale_batch(frames[:1]) * len(frames)  # the detector's input size
            for batch in batches:
                cases[("sr", label, batch)] = (up.upscale_batch, frames, batch)
                cases[("detector", label, batch)] = (task.predict, upscaled, batch)
        best: dict[tuple[str, str, int], float] = {}
        for round_ in range(args.repeats + 1):  # round 0 warms every shape up, untimed
            for key, (call, frames, batch) in cases.items():
                start = time.perf_counter()
                for first in range(0, len(frames), batch):
                    call(frames[first : first + batch])
                per_frame = (time.perf_counter() - start) / len(frames)
                if round_ > 0:
                    best[key] = min(best.get(key, float("inf")), per_frame)
        flops = {label: _gflop_per_frame(tuple(map(int, label.split("x")))) for label in sizes}
        rows = []
        for (stage, label, batch), seconds in best.items():
            gflop = flops[label]["sr" if stage == "sr" else "detector"]
            # SR runs in the precision auto chose; the detector always runs fp32
            peak = peaks["bf16" if stage == "sr" and up.precision == "bf16" else "fp32"]
            rows.append(
                {"stage": stage, "frame": label, "batch": batch, "s_per_frame": round(seconds, 4),
                 "gflops": round(gflop / seconds, 1),
                 "fraction_of_peak": round(gflop / seconds / peak, 3)}
            )  # fmt: skip
            print(threads, rows[-1], flush=True)
        report["threads"][str(threads)] = {
            "peaks": peaks, "sr_precision": up.precision, "rows": rows,
            "load_average": [round(v, 2) for v in os.getloadavg()],
        }  # fmt: skip
    return report


# --------------------------------------------------------------------------- end to end


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _srpipe(*argv: str) -> dict[str, Any]:
    """``srpipe ARGV`` as a fresh process: wall (start-up included), CPU seconds, load, stdout."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = _load()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "srpipe", *argv], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1:]}
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 1), "load_average_before": load,
            "load_average_after": _load(), "stdout": done.stdout}  # fmt: skip


def _command(
    video: Path, out: Path, *extra: str, detector: str | None = "tiny-objects"
) -> dict[str, Any]:
    """``srpipe run detect --sr edsr --scale 4`` as a fresh process: wall includes start-up.
    ``detector`` None: the command's own default (COCO YOLO11n where srpipe[coco] is in)."""
    chosen = ("--detector", detector) if detector else ()
    ran = _srpipe("run", "detect", "--sr", "edsr", "--scale", "4", *chosen,
                  str(video), "-o", str(out), "--json", *extra)  # fmt: skip
    if "failed" in ran:
        return ran
    result = json.loads(ran.pop("stdout"))
    return {
        "frames": result["frames"], **ran, "fps": round(result["frames"] / ran["wall_s"], 3),
        "seconds": result["seconds"], "batch_size": result.get("batch_size"),
        "precision": result.get("precision"), "precision_reason": result.get("precision_reason"),
        "detections": result["summary"].get("detections"),
        "detector_precision": result["summary"].get("detector_precision"),
        "detector": result["summary"].get("detector"),
    }  # fmt: skip


def _onnx_conv_gflop(path: Path, height: int, width: int) -> float:
    """Convolution GFLOP (2 per multiply-add) of an ONNX detector on one (height, width) input,
    from the graph's inferred shapes: what conv_flops counts for a torch model."""
    import onnx

    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, 3, height, width)):
        dim.ClearField("dim_param")
        dim.dim_value = value
    model = onnx.shape_inference.infer_shapes(model)
    typed = (*model.graph.value_info, *model.graph.output, *model.graph.input)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in typed}
    weights = {w.name: list(w.dims) for w in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        if node.op_type != "Conv" or node.output[0] not in shapes or node.input[1] not in weights:
            continue
        out = shapes[node.output[0]]  # (n, c_out, h, w)
        kernel = weights[node.input[1]]  # (c_out, c_in / groups, kh, kw)
        total += 2 * int(np.prod(out)) * int(np.prod(kernel[1:]))
    return round(total / 1e9, 1)


def default_detector_run(args: argparse.Namespace) -> dict[str, Any]:
    """``srpipe run detect --sr edsr --scale 4 CLIP`` with nothing else: the detector is the
    command's default (COCO YOLO11n through ONNX Runtime where srpipe[coco] is installed),
    on the demo clip, peaks measured before and after, the best kept."""
    from srpipe_detect.coco import coco_detector_path

    work = Path(tempfile.mkdtemp())
    demo = work / "demo_320x180.mp4"
    made = make_demo_video(demo, args.frames)
    info = machine()
    native = bool(info["native_bf16_cpu"])
    command = _command(demo, work / "out_default", detector=None)
    peaks = [_start_peaks(info), _peaks_now(native)]
    best_peak = max(p["best"] for p in peaks)
    sr = _gflop_per_frame((320, 180))["sr"]
    onnx_path = coco_detector_path()
    detector = _onnx_conv_gflop(onnx_path, 736, 1280) if onnx_path else None
    row = {"clip": "320x180", "source": made["source"], "command": command,
           "gflop_per_frame": {"sr": sr, "detector": detector}}  # fmt: skip
    if "fps" in command and detector is not None:
        row["gflops_end_to_end"] = round((sr + detector) * command["fps"], 1)
        row["fraction_of_best_peak"] = round(row["gflops_end_to_end"] / best_peak, 3)
    print(row, flush=True)
    return {"machine": info, "peak_measurements": peaks, "best_peak_gflops": best_peak,
            "frames": args.frames, "row": row}  # fmt: skip


def _other_commands(demo: Path, work: Path, frames: int, eval_items: int) -> list[dict[str, Any]]:
    """``run video --sr edsr`` frames/s and ``eval detect`` items/s, start-up included."""
    rows = []
    video = _srpipe("run", "video", "--sr", "edsr", "--scale", "4", str(demo),
                    "-o", str(work / "out_video"), "--json")  # fmt: skip
    if "stdout" in video:
        done = json.loads(video.pop("stdout"))
        video.update(frames=done.get("frames", frames), seconds=done.get("seconds"),
                     precision=done.get("precision"))  # fmt: skip
        video["per_s"] = round(video["frames"] / video["wall_s"], 3)
    rows.append({"command": f"srpipe run video --sr edsr --scale 4 (320x180, {frames} frames)",
                 "unit": "frames/s", **video})  # fmt: skip
    evaluated = _srpipe("eval", "detect", "--sr", "edsr", "--compare", "bicubic", "--scale", "4",
                        "--limit", str(eval_items), "--bootstrap", "0", "--no-resume",
                        "-o", str(work / "out_eval"))  # fmt: skip
    if "stdout" in evaluated:
        evaluated.pop("stdout")
        report = json.loads((work / "out_eval" / "report.json").read_text())
        items = (
            report["dataset"]["items"]
            if isinstance(report["dataset"].get("items"), int)
            else eval_items
        )
        evaluated["items"] = items
        evaluated["variants"] = [v["name"] for v in report["variants"]]
        evaluated["precision"] = {v["name"]: v.get("precision") for v in report["variants"]
                                  if v.get("precision")}  # fmt: skip
        evaluated["per_s"] = round(items / evaluated["wall_s"], 3)
    rows.append({"command": f"srpipe eval detect --sr edsr --compare bicubic --scale 4 --limit "
                 f"{eval_items} (the synthetic tiny-object set: HR, bicubic, edsr and any "
                 "plugin variant per item)", "unit": "items/s", **evaluated})  # fmt: skip
    for row in rows:
        print(row, flush=True)
    return rows


def _gflop_per_frame(lr_size: tuple[int, int]) -> dict[str, float]:
    """Convolution GFLOP of EDSR x4 on one frame and of the detector on its upscaled size."""
    import torch
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext
    from srpipe.upscaling.upscaler import Upscaler

    width, height = lr_size
    # the network as written (an fp32 Upscaler does not fold its tail): nominal arithmetic
    written = Upscaler("edsr", 4, device="cpu", precision="fp32").model
    sr = conv_flops_of(written, torch.rand(1, 3, height, width))
    task = DetectTask()
    task.setup(TaskContext("run", device="cpu", scales=(4,), options={"detector": "tiny-objects"}))
    side = lambda n: int(np.ceil(n * 4 / 32) * 32)  # noqa: E731  (the detector's letterbox)
    net = task.model.model
    detector = conv_flops_of(net, torch.rand(1, 3, side(height), side(width)))
    return {"sr": round(sr / 1e9, 1), "detector": round(detector / 1e9, 1)}


def conv_flops_of(model: Any, x: Any) -> int:
    return hardware.conv_flops(model.float().eval(), x)


def _peaks_now(native_bf16: bool) -> dict[str, Any]:
    """The matmul peaks measured now (2 s each, the best repeat), and the load around them."""
    peaks = {name: hardware.measure_peak(name, seconds=2.0) for name in ("fp32", "bf16")}
    best = max(peaks["fp32"], peaks["bf16"] if native_bf16 else 0.0)
    return {**peaks, "best": best, "load_average": _load()}


def _start_peaks(info: dict[str, Any]) -> dict[str, Any]:
    """The peaks :func:`machine` measured at the start, shaped as :func:`_peaks_now`'s."""
    peaks = info["peaks"]
    return {"fp32": peaks.get("cpu fp32"), "bf16": peaks.get("cpu bf16"),
            "best": info["best_cpu_peak"], "load_average": info["load_average"]}  # fmt: skip


def end_to_end(args: argparse.Namespace) -> dict[str, Any]:
    """The command against the naive loop on each clip; the naive loop runs half its frames
    before the command and half after, so load that comes and goes on a shared machine
    weighs on both. The peaks are measured again after each command and the best of all the
    measurements is the one fractions are taken of (a busy moment lowers a measurement, never
    raises it)."""
    work = Path(tempfile.mkdtemp())
    demo = work / "demo_320x180.mp4"
    made = make_demo_video(demo, args.frames)
    small = work / "crop_160x68.mp4"
    _crop(demo, small, (80, 56, 160, 68))
    info = machine()
    native = bool(info["native_bf16_cpu"])
    peaks = [_start_peaks(info)]
    clips = []
    for video, size in ((demo, (320, 180)), (small, (160, 68))):
        flops = _gflop_per_frame(size)
        half = max(1, args.naive_frames // 2)
        before = _naive(video, half, work / f"naive_{size[0]}_a.mp4")
        command = _command(video, work / f"out_{size[0]}")
        peaks.append(_peaks_now(native))
        after = _naive(video, half, work / f"naive_{size[0]}_b.mp4")
        naive = _merged(before, after)
        row = {"clip": f"{size[0]}x{size[1]}", "source": made["source"],
               "gflop_per_frame": flops, "command": command, "naive": naive}  # fmt: skip
        if size == (320, 180):  # the detector in bf16 too, asked for: what auto leaves
            row["with_bf16_detector"] = _command(
                video, work / "out_bf16_detector", "--detector-precision", "bf16"
            )
            peaks.append(_peaks_now(native))
        clips.append(row)
        print(row, flush=True)
    others = _other_commands(demo, work, args.frames, args.eval_items)
    peaks.append(_peaks_now(native))
    best_peak = max(p["best"] for p in peaks)
    for row in clips:
        per_frame = row["gflop_per_frame"]["sr"] + row["gflop_per_frame"]["detector"]
        command, naive = row["command"], row["naive"]
        if "fps" in command:
            achieved = per_frame * command["fps"]
            row["gflops_end_to_end"] = round(achieved, 1)
            row["fraction_of_best_peak"] = round(achieved / best_peak, 3)
            row["speed_up_vs_naive"] = round(command["fps"] / naive["fps"], 2)
            prepare = command["seconds"].get("prepare", 0.0)
            # the same command without its start-up: what the frames themselves ran at
            row["fps_after_start_up"] = round(command["frames"] / (command["wall_s"] - prepare), 3)
        asked = row.get("with_bf16_detector")
        if asked and "fps" in asked:
            asked["fraction_of_best_peak"] = round(per_frame * asked["fps"] / best_peak, 3)
            asked["speed_up_vs_naive"] = round(asked["fps"] / naive["fps"], 2)
    return {"machine": info, "best_peak_gflops": best_peak, "peak_measurements": peaks,
            "frames": args.frames, "clips": clips, "other_commands": others,
            "load_average_at_end": _load()}  # fmt: skip


def _merged(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two naive-loop runs as one: frames, wall and CPU seconds and stage times added."""
    frames = first["frames"] + second["frames"]
    wall = first["wall_s"] + second["wall_s"]
    return {
        "frames": frames, "wall_s": round(wall, 2), "fps": round(frames / wall, 3),
        "cpu_s": round(first["cpu_s"] + second["cpu_s"], 1),
        "seconds": {k: round(first["seconds"][k] + second["seconds"][k], 2)
                    for k in first["seconds"]},
        "load_average": [first["load_average"], second["load_average"]],
        "detections": first["detections"] + second["detections"],
    }  # fmt: skip


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
    load = _load()
    started = os.times()
    result = staged(head, up, task, 1, out)
    ended = os.times()
    result["cpu_s"] = round(ended.user + ended.system - started.user - started.system, 1)
    result["load_average"] = [load, _load()]
    return result


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
        "bf16_exactness.json, detector_bf16_exactness.json, run_backends.json, run_batching.json, "
        "run_cpu.json, run_cpu_default_detector.json; do not edit -->"
    )
    if END_TO_END.is_file():
        e2e = json.loads(END_TO_END.read_text())
        m = e2e["machine"]
        lines += ["", f"CPU: {m['cpu']}, {m['cores']} cores, flags {' '.join(m['flags'])}; "
                  f"measured matmul peaks at the start {m['peaks']} GFLOP/s, measured again "
                  f"after each command: {_peak_list(e2e)}; best peak used (the best of them): "
                  f"{e2e['best_peak_gflops']} GFLOP/s; load average at the start "
                  f"{m['load_average']}, at the end {e2e['load_average_at_end']} (a shared "
                  "2-core machine: other work lowers both the peaks and the runs; each row "
                  "gives the load around it).", "",
                  f"`srpipe run detect --sr edsr --scale 4 CLIP` ({e2e['frames']} frames, "
                  "start-up included) against the naive loop (one frame at a time, fp32, models "
                  "loaded before the clock starts; half its frames before the command, half "
                  "after):", "",
                  "| clip | GFLOP/frame (SR + detector) | command frames/s | without start-up "
                  "| naive frames/s | speed-up | precision (SR; detector), batch "
                  "| end-to-end GFLOP/s "
                  "| fraction of best peak | CPU s/frame (command, naive) | stages (s) "
                  "| load average (before, after) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for row in e2e["clips"]:
            cmd, naive, g = row["command"], row["naive"], row["gflop_per_frame"]
            if "fps" not in cmd:
                lines.append(f"| {row['clip']} | - | failed: {cmd} |||||||||")
                continue
            stages = ", ".join(f"{k} {v:.1f}" for k, v in cmd["seconds"].items())
            cpu = (f"{cmd['cpu_s'] / cmd['frames']:.2f}, {naive['cpu_s'] / naive['frames']:.2f}"
                   if "cpu_s" in cmd else "-")  # fmt: skip
            lines.append(
                f"| {row['clip']} | {g['sr']} + {g['detector']} | {cmd['fps']} | "
                f"{row.get('fps_after_start_up', '-')} | {naive['fps']} ({naive['frames']} "
                f"frames) | {row['speed_up_vs_naive']}x | {cmd['precision']}; "
                f"{(cmd.get('detector_precision') or 'fp32').split(' ')[0]}, "
                f"{cmd.get('batch_size') or '-'} | {row['gflops_end_to_end']} | "
                f"{100 * row['fraction_of_best_peak']:.0f}% | {cpu} | {stages} | "
                f"{cmd.get('load_average_before', '-')}, {cmd.get('load_average_after', '-')} |"
            )
        for row in e2e["clips"]:
            asked = row.get("with_bf16_detector")
            if not asked or "fps" not in asked:
                continue
            stages = ", ".join(f"{k} {v:.1f}" for k, v in asked["seconds"].items())
            lines += ["", f"The same command on the {row['clip']} clip with "
                      f"`--detector-precision bf16` (what `auto` leaves on the table: the "
                      f"bundled detector is below its agreement floor, see the detector table "
                      f"below): {asked['fps']} frames/s, {asked['speed_up_vs_naive']}x the naive "
                      f"loop, **{100 * asked['fraction_of_best_peak']:.0f}% of the best peak** "
                      f"end to end, start-up included; {asked['detections']} detections "
                      f"(default: {row['command'].get('detections')}); stages (s) {stages}; "
                      f"load average {asked['load_average_before']}, "
                      f"{asked['load_average_after']}."]  # fmt: skip
        if DEFAULT_DETECTOR.is_file():
            lines += _default_detector_lines(json.loads(DEFAULT_DETECTOR.read_text()))
        if any(row.get("fraction_of_best_peak", 0) > 1 for row in e2e["clips"]):
            lines += ["", "A fraction over 100% means the peak, measured once at the start, "
                      "was lowered by other load on the machine then: that run's fractions "
                      "are not comparable."]  # fmt: skip
        if e2e.get("other_commands"):
            lines += ["", "The other headline commands, fresh processes, start-up included:", "",
                      "| command | rate | wall (s) | CPU s | precision | "
                      "load average (before, after) |", "|---|---|---|---|---|---|"]  # fmt: skip
            for row in e2e["other_commands"]:
                if "per_s" not in row:
                    lines.append(f"| {row['command']} | failed: {row.get('failed')} |||||")
                    continue
                lines.append(
                    f"| `{row['command']}` | {row['per_s']} {row['unit']} | {row['wall_s']} | "
                    f"{row['cpu_s']} | {row.get('precision') or '-'} | "
                    f"{row['load_average_before']}, {row['load_average_after']} |"
                )
    if BATCHING.is_file():
        lines += _batching_lines(json.loads(BATCHING.read_text()))
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
                within, worst = r.get("within_one_level", "-"), r.get("max_diff", "-")
                if "confident_boxes_within_1px" in r:
                    within = f"{r['confident_boxes_within_1px']} (confident boxes within 1 px)"
                    worst = f"{r['max_score_diff']} (score)"
                lines.append(
                    f"| {size} | {r['backend']} | {r['first_call_s']} | {r['s_per_frame']} | "
                    f"{r.get('clip_100_frames_s', '-')} | {within} | {worst} |"
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
    if DETECTOR_EXACTNESS.is_file():
        dx = json.loads(DETECTOR_EXACTNESS.read_text())
        lines += ["", f"The detector in bf16 (convolutions bf16, box decode fp32) vs fp32 "
                  f"(`bench_run.py detector-exactness`, {dx['detector']}, --conf 0.25): the "
                  "detect task's agreement metrics of bf16's boxes scored against fp32's; "
                  "`--detector-precision auto` uses bf16 in `run` only where bf16 is native "
                  f"and agree50 / fp32's own agree50 >= {dx['floor']} at every size:", "",
                  "| images | count | boxes (fp32) | agree50 | fp32 against itself | ratio "
                  "| agree50-95 | s/image fp32, bf16 |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        rows = dx["rows"]
        if "sr_precision_context" in dx:  # the same measure of what SR's bf16 already moves
            c = dx["sr_precision_context"]
            label = "1280, for context: fp32 detector, SR bf16 vs fp32"
            unused = {"fp32": "-", "bf16": "-"}
            rows = [
                *rows,
                {**c, "size": label, "images": rows[-1]["images"], "s_per_image": unused},
            ]
        for r in rows:
            ceiling = r["fp32_against_itself"]
            ratio = r["agree50"] / ceiling if ceiling else float("nan")
            seconds = r["s_per_image"]
            lines.append(
                f"| {r['size']} | {r['images']} | {r['boxes']} | {r['agree50']} | "
                f"{r['fp32_against_itself']} | {ratio:.4f} | {r['agree50-95']} | "
                f"{seconds['fp32']}, {seconds['bf16']} |"
            )
    _replace_section(BENCHMARKS_MD, "\n".join(lines) + "\n")


def _default_detector_lines(report: dict[str, Any]) -> list[str]:
    """The command with its own default detector (what a user on real footage runs)."""
    row, cmd = report["row"], report["row"]["command"]
    if "fps" not in cmd:
        return ["", f"The command with its default detector: failed: {cmd.get('failed')}"]
    g = row["gflop_per_frame"]
    stages = ", ".join(f"{k} {v:.1f}" for k, v in cmd["seconds"].items())
    peaks = ", ".join(f"{p['fp32']}/{p['bf16']}" for p in report["peak_measurements"])
    return ["", f"`srpipe run detect --sr edsr --scale 4 CLIP` with nothing else "
            f"(`bench_run.py default-detector`; its default detector here is {cmd['detector']}, "
            f"detector precision {cmd.get('detector_precision')}), {row['clip']}, "
            f"{cmd['frames']} frames, start-up included: {cmd['fps']} frames/s; "
            f"{g['sr']} + {g['detector']} GFLOP/frame (the ONNX graph's convolutions); "
            f"{row['gflops_end_to_end']} GFLOP/s end to end, "
            f"**{100 * row['fraction_of_best_peak']:.0f}% "
            f"of the best peak** ({report['best_peak_gflops']} GFLOP/s; peaks fp32/bf16 before and "
            f"after: {peaks}); stages (s) {stages}; load average {cmd['load_average_before']}, "
            f"{cmd['load_average_after']}."]  # fmt: skip


def _peak_list(e2e: dict[str, Any]) -> str:
    """The later peak measurements of an end-to-end run, as 'fp32/bf16' pairs."""
    later = e2e.get("peak_measurements", [])[1:]
    return ", ".join(f"{p['fp32']}/{p['bf16']}" for p in later) or "-"


def _batching_lines(report: dict[str, Any]) -> list[str]:
    """The frames-per-forward table: GFLOP/s of SR and the detector by frame size and batch."""
    lines = ["", f"Frames per forward (`bench_run.py batching`; {report['frames']} frames a case, "
             "the best of the interleaved rounds; SR in the precision auto chose, the detector "
             "fp32 at the upscaled size):", "",
             "| threads | stage | frame | frames per forward | s/frame | GFLOP/s "
             "| fraction of that thread count's peak | load average after |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for threads, run in report["threads"].items():
        for r in run["rows"]:
            precision = run["sr_precision"] if r["stage"] == "sr" else "fp32"
            lines.append(
                f"| {threads} | {r['stage']} ({precision}) | {r['frame']} | {r['batch']} | "
                f"{r['s_per_frame']} | {r['gflops']} | "
                f"{100 * r['fraction_of_peak']:.0f}% | {run['load_average']} |"
            )
    peaks = {t: run["peaks"] for t, run in report["threads"].items()}
    lines += ["", f"Peaks measured before each thread count's cases: {peaks} GFLOP/s."]
    if any(r["fraction_of_peak"] > 1 for run in report["threads"].values() for r in run["rows"]):
        lines += [
            "",
            "A fraction over 100%: other load lowered that peak's measurement more than the "
            "cases after it; compare the rows of one thread count by GFLOP/s.",
        ]
    return lines


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
    parser.add_argument(
        "step",
        choices=(
            "exactness",
            "detector-exactness",
            "backends",
            "batching",
            "end-to-end",
            "default-detector",
            "table",
        ),
    )
    parser.add_argument(
        "--detector-upscaled", type=int, default=24, help="detector-exactness: images upscaled"
    )
    parser.add_argument("--threads", type=int, default=1, help="backends: torch threads")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--frames", type=int, default=120, help="end-to-end: clip length")
    parser.add_argument("--naive-frames", type=int, default=24, help="naive loop: frames")
    parser.add_argument("--eval-items", type=int, default=16, help="eval detect: --limit")
    parser.add_argument("--batch-frames", type=int, default=16, help="batching: frames a case")
    parser.add_argument(
        "--batches", type=int, nargs="+", default=[1, 4, 8, 16], help="batching: 160x68 batches"
    )
    parser.add_argument(
        "--thread-counts", type=int, nargs="+", default=[1, 2], help="batching: torch threads"
    )
    args = parser.parse_args()
    if args.step == "table":
        table(args)
        return
    steps = {"exactness": (exactness, EXACTNESS), "backends": (backends, BACKENDS),
             "detector-exactness": (detector_exactness, DETECTOR_EXACTNESS),
             "default-detector": (default_detector_run, DEFAULT_DETECTOR),
             "batching": (batching, BATCHING), "end-to-end": (end_to_end, END_TO_END)}  # fmt: skip
    step, target = steps[args.step]
    report = step(args)
    atomic.write_json(target, report)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
