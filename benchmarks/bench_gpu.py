#!/usr/bin/env python
"""GPU inference throughput of EDSR-baseline x4: fp32, channels_last, TF32, bf16, torch.compile.

Needs a CUDA device (it ran on the lent H200 in the same call that trained the bundled x2
weights, see experiments/sr-training). All variants run in this one process on the same
input, one after the other, after 3 warm-up calls each; the figure is the mean of 20 timed
calls between CUDA synchronisations. bf16's error is measured against the fp32 output.

    python benchmarks/bench_gpu.py --out DIR [--bench-size 256 --bench-batch 8]
    python benchmarks/bench_gpu.py --out . --markdown benchmarks/results/gpu_bench_h200.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def bench(args: argparse.Namespace) -> None:
    """Throughput of EDSR-baseline x4 inference under the precision/layout/compile options."""
    import torch

    from srpipe.models.networks.edsr import EDSR

    device = torch.device(args.device)
    model = EDSR(scale=4).to(device).eval()
    x = torch.rand(args.bench_batch, 3, args.bench_size, args.bench_size, device=device)
    results = []

    def timed(fn, label):
        with torch.no_grad():
            for _ in range(3):
                fn()
            torch.cuda.synchronize()
            reps = 20
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            torch.cuda.synchronize()
            dt = (time.perf_counter() - t0) / reps
        mp_out = args.bench_batch * (args.bench_size * 4) ** 2 / 1e6
        results.append(
            {"variant": label, "ms": round(dt * 1e3, 2), "out_MP_per_s": round(mp_out / dt, 1)}
        )
        print(results[-1], flush=True)

    reference = model(x).float()
    timed(lambda: model(x), "fp32")
    cl = x.contiguous(memory_format=torch.channels_last)
    model_cl = model.to(memory_format=torch.channels_last)
    timed(lambda: model_cl(cl), "fp32 channels_last")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    timed(lambda: model_cl(cl), "tf32 channels_last")

    def bf16():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return model_cl(cl)

    timed(bf16, "bf16 autocast channels_last")
    with torch.no_grad():
        err = (bf16().float() - reference).abs().max().item()
    results[-1]["max_abs_err_vs_fp32"] = err
    t0 = time.perf_counter()
    compiled = torch.compile(model_cl)

    def bf16c():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return compiled(cl)

    with torch.no_grad():
        bf16c()
    compile_s = time.perf_counter() - t0
    timed(bf16c, "bf16 channels_last torch.compile")
    results[-1]["compile_s"] = round(compile_s, 1)
    info = {
        "model": "EDSR-baseline x4 (1.52M params)",
        "input": f"{args.bench_batch}x3x{args.bench_size}x{args.bench_size}",
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_bench.json").write_text(json.dumps(info, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--bench-size", type=int, default=256)
    parser.add_argument("--bench-batch", type=int, default=8)
    parser.add_argument("--markdown", type=Path, help="print a results JSON as a table and exit")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return 0
    bench(args)
    return 0


def markdown(info: dict) -> str:
    """The table BENCHMARKS.md shows, made from the results JSON (never typed by hand)."""
    base = info["results"][0]["ms"]
    lines = [
        f"{info['model']}, input {info['input']}, {info['device']}, torch {info['torch']}",
        "",
        "| variant | ms / call | output MP/s | speed-up vs fp32 | note |",
        "|---|---|---|---|---|",
    ]
    for row in info["results"]:
        note = []
        if "max_abs_err_vs_fp32" in row:
            note.append(f"max abs error vs fp32 {row['max_abs_err_vs_fp32']:.4f} (of 1.0)")
        if "compile_s" in row:
            note.append(f"compile {row['compile_s']} s once")
        lines.append(
            f"| {row['variant']} | {row['ms']} | {row['out_MP_per_s']} | "
            f"{base / row['ms']:.2f}x | {'; '.join(note)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
