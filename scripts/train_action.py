#!/usr/bin/env python
"""Train the bundled camera-motion classifier (the action task's offline default); resumable.

    OMP_NUM_THREADS=1 python scripts/train_action.py --out runs/train_action      # ~25 min, 1 core
    OMP_NUM_THREADS=1 python scripts/train_action.py --out runs/train_action      # resumes

Clips are rendered on the fly from the registry's ``train`` stills (pans and digital zooms,
speeds drawn from [1, 3] HR px/frame, :mod:`srpipe_action.camera_motion`); every
``--eval-every`` steps the network is scored on fixed clips of the ``validation`` stills and
the best step is kept (selection on validation only: the test split is never read here).
Batch ``i`` is drawn from a generator seeded with ``(seed, i)``, so a resumed run draws the
same clips as an uninterrupted one. At the end the selected weights are written as
safetensors with the recipe, the splits and the selection in their metadata.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "train_action")
    parser.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="where the selected weights go (default: the plugin's bundled file)",
    )
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--validation-repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch
    from safetensors.torch import save_file
    from srpipe_action import camera_motion as cm
    from srpipe_action.motion_classifier import MEAN, STD, WEIGHTS, WIDTHS, build_motion_net

    from srpipe.atomic import atomic_path
    from srpipe.data.sources import TRAIN, VALIDATION, RoleCheck, assert_reads

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    weights_path = args.weights or WEIGHTS
    args.out.mkdir(parents=True, exist_ok=True)
    state_path = args.out / "state.pt"

    train = cm.load_stills(TRAIN)
    validation = cm.load_stills(VALIDATION)
    for role, stills in ((TRAIN, train), (VALIDATION, validation)):
        names = sorted({cm.source_of(s) for s in stills})
        assert_reads(RoleCheck("scripts/train_action.py", role, names=names))
    train_names = sorted(train)
    val_plans = cm.plan_clips(sorted(validation), cm.TEST_SPEEDS, args.validation_repeats,
                              seed=args.seed + 1)  # fmt: skip
    val_clips = np.stack([cm.render_clip(validation[p.still], p) for p in val_plans])
    val_labels = torch.tensor([cm.CAMERA_MOTIONS.index(p.motion) for p in val_plans])
    mean = torch.tensor(MEAN).view(1, 3, 1, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1, 1)

    def tensor(clips: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(clips).permute(0, 4, 1, 2, 3).float().div_(255.0)
        return (x - mean) / std

    model = build_motion_net()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.steps, pct_start=0.1
    )
    step, best, log = 0, {"accuracy": -1.0, "step": -1, "state": None}, []
    if state_path.is_file():
        saved = torch.load(state_path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        step, best, log = saved["step"], saved["best"], json.loads(saved["log"])
        print(f"resumed at step {step} (best validation {best['accuracy']:.4f} at "
              f"{best['step']})", flush=True)  # fmt: skip

    def validate() -> tuple[float, float]:
        model.eval()
        with torch.inference_mode():
            logits = torch.cat([model(tensor(val_clips[i : i + 32]))
                                for i in range(0, len(val_clips), 32)])  # fmt: skip
        model.train()
        loss = torch.nn.functional.cross_entropy(logits, val_labels).item()
        return float((logits.argmax(1) == val_labels).float().mean()), loss

    started = time.time()
    running = []
    while step < args.steps:
        rng = np.random.default_rng([args.seed, step])
        plans = [cm.random_plan(train_names, rng) for _ in range(args.batch)]
        clips = np.stack([cm.render_clip(train[p.still], p) for p in plans])
        labels = torch.tensor([cm.CAMERA_MOTIONS.index(p.motion) for p in plans])
        loss = torch.nn.functional.cross_entropy(model(tensor(clips)), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        step += 1
        running.append(loss.item())
        if step % args.eval_every == 0 or step == args.steps:
            accuracy, val_loss = validate()
            entry = {"step": step, "train_loss": float(np.mean(running)),
                     "validation_accuracy": accuracy, "validation_loss": val_loss,
                     "seconds": round(time.time() - started, 1)}  # fmt: skip
            running = []
            log.append(entry)
            print(json.dumps(entry), flush=True)
            if accuracy > best["accuracy"]:
                best = {"accuracy": accuracy, "step": step,
                        "state": {k: v.clone() for k, v in model.state_dict().items()}}  # fmt: skip
            checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                          "schedule": schedule.state_dict(), "step": step, "best": best,
                          "log": json.dumps(log)}  # fmt: skip
            with atomic_path(state_path) as tmp:
                torch.save(checkpoint, tmp)

    recipe = {
        "script": "scripts/train_action.py",
        "network": f"(2+1)D CNN, widths {list(WIDTHS)}, "
        f"{sum(p.numel() for p in model.parameters())} parameters",
        "clips": f"{cm.CLIP_FRAMES} frames of {cm.CLIP_SIZE}x{cm.CLIP_SIZE}, classes "
        f"{list(cm.CAMERA_MOTIONS)}, train speeds uniform {list(cm.TRAIN_SPEED_RANGE)} HR "
        f"px/frame, still resize {list(cm.SCALE_RANGE)}",
        "steps": args.steps,
        "batch": args.batch,
        "optimizer": f"AdamW lr {args.lr} (one-cycle), weight decay {args.weight_decay}",
        "seed": args.seed,
        "threads": args.threads,
        "torch": torch.__version__,
    }
    splits = {role: sorted(cm.SPLIT_SOURCES[role]) for role in cm.SPLIT_SOURCES}
    selection = {
        "rule": "highest validation accuracy (validation clips: every class at speeds "
        f"{list(cm.TEST_SPEEDS)}, {args.validation_repeats} per still)",
        "step": best["step"],
        "validation_accuracy": best["accuracy"],
        "validation_clips": len(val_plans),
    }
    metadata = {
        "name": "camera-motion",
        "classes": json.dumps(list(cm.CAMERA_MOTIONS)),
        "recipe": json.dumps(recipe),
        "splits": json.dumps(splits),
        "selection": json.dumps(selection),
        "log": json.dumps(log),
    }
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in best["state"].items()}
    with atomic_path(weights_path) as tmp:
        save_file(state, str(tmp), metadata=metadata)
    print(f"wrote {weights_path} (step {best['step']}, validation accuracy "
          f"{best['accuracy']:.4f})")  # fmt: skip


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
