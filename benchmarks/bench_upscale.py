"""Speed and memory of srpipe's Upscaler against the reference EDSR-PyTorch class.

Not a test: run it by hand on an idle machine (figures go in BENCHMARKS.md)::

    python benchmarks/bench_upscale.py --reference-dir /tmp/edsr_ref

What it measures, in one run on one machine:

1. EDSR-baseline x4 on a 256x256 input: the reference ``EDSR`` class of EDSR-PyTorch
   (``<reference-dir>/src/model/edsr.py``, fetched by you, never part of srpipe) run the
   plain way (fp32, NCHW, ``torch.no_grad``) versus srpipe's ``Upscaler`` (channels_last,
   ``inference_mode``) with the *same weights*; fp32 outputs must agree to 1e-4 on the
   [0, 1] scale. Runs are interleaved so background load hits both alike; medians are
   reported. bf16 autocast is timed too, with its error against fp32.
2. Achieved GFLOP/s (convolution FLOPs counted with hooks) against a measured fp32 and bf16
   matmul peak on the same cores.
3. Tiled versus untiled on the same model (outputs equal to 1e-3) with the peak RSS of
   each, every variant in its own subprocess so RSS is its own; and a 4000x3000 input at
   x4 tiled, to show memory stays bounded (a small EDSR is used there by default because
   EDSR-baseline on 12 megapixels takes many minutes on two cores; ``--big-model baseline``
   runs the real one).

Without ``--reference-dir`` (or if it is absent) the reference part is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from srpipe.upscaling.hardware import conv_flops, measure_peak

HERE = Path(__file__).resolve()


# --------------------------------------------------------------------------- helpers


def load_reference(reference_dir: Path, scale: int) -> torch.nn.Module | None:
    src = reference_dir / "src"
    if not (src / "model" / "edsr.py").is_file():
        return None
    sys.path.insert(0, str(src))
    try:
        from model.edsr import EDSR as ReferenceEDSR  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(src))
    args = SimpleNamespace(
        n_resblocks=16, n_feats=64, scale=[scale], rgb_range=255, n_colors=3, res_scale=1
    )
    return ReferenceEDSR(args).eval()


def ours_model(scale: int, seed: int = 0, **hyper: Any) -> torch.nn.Module:
    from srpipe.models.edsr import build_edsr

    torch.manual_seed(seed)
    model = build_edsr(scale=scale, **hyper).eval()
    # Random init gives near-zero residuals; perturb every weight so outputs are non-trivial.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "mean" not in name:
                p.add_(torch.randn_like(p) * 0.01)
    return model


def peak_rss_mb() -> float:
    """Peak RSS of this process in MiB (since start, or since :func:`reset_peak_rss`)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5) so a phase can be measured."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- child mode


def child(args: argparse.Namespace) -> None:
    """One upscale in a fresh process; prints seconds and peak RSS as JSON."""
    from srpipe.upscaling.upscaler import Upscaler

    hyper = {} if args.child_model == "baseline" else {"n_resblocks": 2, "n_feats": 16}
    model = ours_model(args.scale, **hyper)
    h, w = args.child_size
    rng = np.random.default_rng(0)
    # smooth random content (upscaled noise) so the model sees image-like input
    small = rng.integers(0, 256, (max(h // 8, 2), max(w // 8, 2), 3), dtype=np.uint8)
    from srpipe.image.resize import imresize

    img = imresize(small, output_size=(h, w))
    del small
    setup_peak = peak_rss_mb()
    base_rss = current_rss_mb()
    reset = reset_peak_rss()
    up = Upscaler.from_module(
        model, args.scale, device="cpu", tile=args.child_tile, tile_overlap=args.child_overlap
    )
    t0 = time.perf_counter()
    out = up.upscale_float(img.astype(np.float32) / 255.0) if args.child_save else up(img)
    seconds = time.perf_counter() - t0
    if args.child_save:
        np.save(args.child_save, out)
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "peak_rss_mb_upscale": round(peak_rss_mb(), 1) if reset else None,
                "peak_rss_mb_setup": round(setup_peak, 1),
                "rss_before_upscale_mb": round(base_rss, 1),
                "out_shape": list(out.shape),
            }
        )
    )


def run_child(
    size: tuple[int, int], tile: int, overlap: int, model: str, scale: int, save: str | None
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(HERE),
        "--child",
        "--child-size",
        str(size[0]),
        str(size[1]),
        "--child-tile",
        str(tile),
        "--child-overlap",
        str(overlap),
        "--child-model",
        model,
        "--scale",
        str(scale),
    ]
    if save:
        cmd += ["--child-save", save]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return {
            "error": result.stderr.strip().splitlines()[-1:] or ["killed"],
            "returncode": result.returncode,
        }
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- main parts


def bench_reference(args: argparse.Namespace, report: dict[str, Any]) -> None:
    from srpipe.upscaling.upscaler import Upscaler

    scale, size = args.scale, args.size
    model = ours_model(scale)
    reference = load_reference(Path(args.reference_dir), scale) if args.reference_dir else None
    rng = np.random.default_rng(0)
    img = rng.random((size, size, 3)).astype(np.float32)
    x01 = torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()

    flops = conv_flops(model, x01)
    report["edsr_baseline"] = {
        "input": f"{size}x{size}",
        "scale": scale,
        "conv_gflop_per_image": round(flops / 1e9, 2),
    }
    ours32 = Upscaler.from_module(ours_model(scale), scale, device="cpu")
    ours16 = Upscaler.from_module(ours_model(scale), scale, device="cpu", precision="bf16")

    runners: dict[str, Any] = {
        "ours_fp32": lambda: ours32.upscale_float(img),
        "ours_bf16": lambda: ours16.upscale_float(img),
    }
    if reference is not None:
        reference.load_state_dict(model.state_dict(), strict=True)
        x255 = x01 * 255.0

        def plain() -> np.ndarray:
            with torch.no_grad():
                return reference(x255)

        runners["reference_fp32"] = plain
    else:
        report["edsr_baseline"]["reference"] = "skipped (no --reference-dir checkout)"

    outputs = {name: fn() for name, fn in runners.items()}  # warm-up, and the outputs
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, fn in runners.items():  # interleaved: load spikes hit every variant
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(v) for name, v in times.items()}
    res = report["edsr_baseline"]
    res["seconds_median"] = {k: round(v, 4) for k, v in med.items()}
    res["seconds_all"] = {k: [round(t, 4) for t in v] for k, v in times.items()}
    res["gflops_achieved"] = {k: round(flops / v / 1e9, 1) for k, v in med.items()}
    fp32 = outputs["ours_fp32"]
    bf16 = outputs["ours_bf16"]
    err = float(np.abs(bf16 - fp32).max())
    mse = float(np.mean((bf16.astype(np.float64) - fp32) ** 2))
    res["bf16_vs_fp32"] = {
        "max_abs_diff": err,
        "psnr_db": round(10 * np.log10(1.0 / mse), 2) if mse else "inf",
    }
    if reference is not None:
        ref = outputs["reference_fp32"][0].permute(1, 2, 0).numpy() / 255.0
        ref01 = np.clip(ref, 0, 1)
        diff = float(np.abs(fp32 - ref01).max())
        res["fp32_equal_to_reference"] = {
            "max_abs_diff_01": diff,
            "tolerance": 1e-4,
            "equal": diff <= 1e-4,
        }
        res["speedup_vs_reference"] = {
            "fp32": round(med["reference_fp32"] / med["ours_fp32"], 2),
            "bf16": round(med["reference_fp32"] / med["ours_bf16"], 2),
        }


def bench_tiling(args: argparse.Namespace, report: dict[str, Any]) -> None:
    out: dict[str, Any] = {}
    size = (args.size, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        whole_path = os.path.join(tmp, "whole.npy")
        out["untiled"] = run_child(size, 0, 0, "baseline", args.scale, whole_path)
        whole = np.load(whole_path) if "error" not in out["untiled"] else None
        for tile, overlap in args.tiles:
            key = f"tile{tile}_overlap{overlap}"
            path = os.path.join(tmp, f"{key}.npy")
            out[key] = run_child(size, tile, overlap, "baseline", args.scale, path)
            if whole is not None and "error" not in out[key]:
                tiled = np.load(path)
                out[key]["max_abs_diff_vs_untiled"] = float(np.abs(tiled - whole).max())
    report["tiled_vs_untiled"] = {
        "model": "EDSR-baseline",
        "input": f"{size[1]}x{size[0]}",
        "results": out,
    }
    if args.big:
        big = (3000, 4000)
        report["big_input"] = {
            "input": "4000x3000",
            "scale": args.scale,
            "tile": args.big_tile,
            "model": "EDSR-baseline"
            if args.big_model == "baseline"
            else "EDSR 2 blocks x 16 features (small, for time)",
            "result": run_child(big, args.big_tile, 16, args.big_model, args.scale, None),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reference-dir",
        default=None,
        help="EDSR-PyTorch checkout (needs src/model/edsr.py and common.py)",
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--tiles",
        type=lambda s: tuple(int(v) for v in s.split(",")),
        nargs="*",
        default=[(128, 16), (128, 40), (64, 40)],
        help="tile,overlap pairs for the tiled runs",
    )
    parser.add_argument("--no-tiling", action="store_true")
    parser.add_argument("--big", action="store_true", help="also run 4000x3000 at x4 tiled")
    parser.add_argument("--big-model", choices=["small", "baseline"], default="small")
    parser.add_argument("--big-tile", type=int, default=256)
    parser.add_argument("--json", default=None, help="write the report here too")
    # child-process mode (internal)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-size", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-tile", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child-overlap", type=int, default=16, help=argparse.SUPPRESS)
    parser.add_argument("--child-model", default="baseline", help=argparse.SUPPRESS)
    parser.add_argument("--child-save", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    report: dict[str, Any] = {
        "machine": {
            "cpu": _cpu_name(),
            "logical_cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        },
        "matmul_peak_gflops": {
            "fp32": measure_peak("fp32", size=2048),
            "bf16": measure_peak("bf16", size=2048),
        },
    }
    bench_reference(args, report)
    if not args.no_tiling:
        bench_tiling(args, report)
    report["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
