#!/usr/bin/env python
"""Cost of one SR model at x4: parameters, FLOPs and CPU seconds per output megapixel.

    python experiments/structures/cost.py CHECKPOINT_OR_NAME OUT.json [--lr-side 64] [--runs 3]

FLOPs are torch.utils.flop_counter's count (a multiply-add is 2 FLOPs; convolutions, matmuls
and transposed convolutions, the ops that dominate these networks) of one forward pass on a
fixed ``lr_side`` x ``lr_side`` RGB input, divided by the output megapixels. CPU time is the
median of ``runs`` timed forward passes on the same input (after one warm-up), fp32, one torch
thread, no autograd; it runs in its own process so nothing else shares its thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def measure(sr: str, lr_side: int, runs: int, scale: int = 4) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from srpipe.models.checkpoint import load_model

    torch.set_num_threads(1)
    model, meta = load_model(sr, scale)
    model = model.float().eval()
    x = torch.rand(1, 3, lr_side, lr_side, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        counter = FlopCounterMode(display=False)
        with counter:
            out = model(x)
        out = out[-1] if isinstance(out, (list, tuple)) else out
        megapixels = out.shape[-2] * out.shape[-1] / 1e6
        model(x)  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return {
        "arch": meta.get("arch"),
        "hyper": meta.get("hyper"),
        "params": sum(p.numel() for p in model.parameters()),
        "gflops_per_mp": counter.get_total_flops() / 1e9 / megapixels,
        "cpu_s_per_mp": statistics.median(times) / megapixels,
        "cost_output": list(out.shape[-2:]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sr")
    parser.add_argument("out", type=Path)
    parser.add_argument("--lr-side", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    result = measure(args.sr, args.lr_side, args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
