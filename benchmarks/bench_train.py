#!/usr/bin/env python
"""Training speed: our ``srpipe train`` loop vs a bare PyTorch loop, same model and batch.

    python benchmarks/bench_train.py   # EDSR-baseline x4, batch 8, 48x48, bf16 (bundled config)
    python benchmarks/bench_train.py --config configs/bundled/rcan_x4_samples.yaml

Three numbers from one process, alternating rounds so a machine whose load changes treats
both loops alike:

* **bare**: random tensors already in memory -> forward (autocast) -> L1 -> backward -> Adam;
* **ours**: :class:`srpipe.train.trainer.Trainer` on the offline corpus, with everything it
  does per step (DataLoader, LR schedule, NaN check, EMA, CSV log, progress bar), validation
  and checkpoints pushed out of the window; its own loop clock;
* **data**: the DataLoader alone producing the same batches (must be far faster than a step).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def bare_loop(model, batch: int, patch: int, scale: int, steps: int, precision: str, cl: bool):
    import torch

    x = torch.rand(batch, 3, patch, patch)
    y = torch.rand(batch, 3, patch * scale, patch * scale)
    if cl:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        y = y.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.L1Loss()

    def step():
        if precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = model(x)
        else:
            out = model(x)
        loss = loss_fn(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up (allocations, oneDNN kernel selection)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def ours_loop(config: dict, steps: int, out: Path) -> float:
    from srpipe.train.trainer import Trainer

    config = json.loads(json.dumps(config))
    config["out_dir"] = str(out / "{name}")
    config["name"] = f"bench{time.perf_counter_ns()}"
    config["train"].update(
        iterations=steps + 1,
        max_minutes=0.0,
        val_every=10**9,
        checkpoint_every=10**9,
        log_every=1,
        tensorboard=False,
        progress=True,
    )
    config["data"]["val"] = None  # validation is not part of a training step
    trainer = Trainer(config)
    result = trainer.fit()
    import csv

    with (result.run_dir / "train_log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    # drop the first step (warm-up, as for the bare loop); elapsed_s is the loop's own clock
    t0, t1 = float(rows[0]["elapsed_s"]), float(rows[-1]["elapsed_s"])
    return (len(rows) - 1) / max(t1 - t0, 1e-9)


def data_rate(config: dict, batches: int) -> float:
    from torch.utils.data import DataLoader

    from srpipe.train.datasets import PairedPatchDataset, load_pairs

    d = config["data"]
    pairs = load_pairs(d["train"], config["scale"])
    ds = PairedPatchDataset(
        pairs, config["scale"], d["patch_size"], length=batches * d["batch_size"]
    )
    loader = DataLoader(ds, batch_size=d["batch_size"], num_workers=d["num_workers"])
    start = time.perf_counter()
    for _ in loader:
        pass
    return batches / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="our training loop vs a bare loop")
    parser.add_argument("--config", default="configs/bundled/edsr_x4_samples.yaml")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("overrides", nargs="*", help="config key=value overrides")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from srpipe.train.config import load_config
    from srpipe.train.network import build_model, seed_everything

    config = load_config(args.config, args.overrides)
    torch.set_num_threads(int(config["threads"]) or torch.get_num_threads())
    t = config["train"]
    d = config["data"]
    bare, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            seed_everything(0)
            model, _ = build_model(config)
            bare.append(
                bare_loop(
                    model.train(),
                    d["batch_size"],
                    d["patch_size"],
                    config["scale"],
                    args.steps,
                    t["precision"],
                    t["channels_last"],
                )
            )
            ours.append(ours_loop(config, args.steps, Path(tmp)))
    data = data_rate(config, 50)
    result = {
        "model": config["model"],
        "scale": config["scale"],
        "batch": d["batch_size"],
        "patch": d["patch_size"],
        "precision": t["precision"],
        "channels_last": t["channels_last"],
        "threads": torch.get_num_threads(),
        "bare_it_s": [round(v, 4) for v in bare],
        "ours_it_s": [round(v, 4) for v in ours],
        "ours_over_bare": round(statistics.median(ours) / statistics.median(bare), 3),
        "data_batches_s": round(data, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
