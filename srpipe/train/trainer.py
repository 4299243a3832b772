"""The SR training loop behind ``srpipe train``.

This module is long because resuming exactly needs the loop, its checkpoint state and its
stop handling side by side; data, losses, config and distribution live in sibling modules.

One :class:`Trainer` owns a run folder::

    runs/<name>/
      config.yaml          the resolved config
      state.pt             everything needed to resume (model, optimizer, schedule, EMA,
                           RNG states, iteration, elapsed time, best score), written atomically;
                           tensors and plain values only, read back with weights_only=True
      last.safetensors     latest weights (EMA weights when EMA is on), loadable by
      best.safetensors     srpipe.models.checkpoint.load_checkpoint / --sr PATH
      train_log.csv        iteration, loss, lr, it/s, elapsed
      val_log.csv          iteration, Y-PSNR and SSIM (mean over the validation images)
      tb/                  TensorBoard events
      curves.png           loss and validation-PSNR curves (written at the end)

Stopping: SIGINT/SIGTERM finish the current step, write ``state.pt`` and exit; a NaN/Inf
loss stops before the bad step is applied, leaving the last good checkpoint as it was;
``train.max_minutes`` ends the run cleanly with a final validation and checkpoint.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import json
import math
import os
import pickle
import random
import signal
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from srpipe.atomic import atomic_path, write_text
from srpipe.errors import SrpipeError
from srpipe.image.metrics import psnr, ssim
from srpipe.image.resize import imresize
from srpipe.models.checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from srpipe.models.layout import to_channels_last
from srpipe.plugins import get_plugin_manager
from srpipe.train import distributed as D
from srpipe.train.config import dump_config, run_dir
from srpipe.train.curves import plot_curves
from srpipe.train.datasets import PairedPatchDataset, load_pairs, to_tensor, worker_init
from srpipe.train.losses import build_loss

STATE_FILE = "state.pt"


class TrainingStopped(SrpipeError):
    """The run stopped early on a NaN/Inf loss (the last good checkpoint is kept)."""


@dataclass
class TrainResult:
    """How a run ended."""

    status: str  # "finished" | "budget" | "interrupted"
    iteration: int
    best_psnr: float | None
    best_iteration: int | None
    run_dir: Path
    elapsed_s: float
    stop_signal: int | None = None
    is_main: bool = True  # False on DDP ranks other than 0 (they print nothing)
    history: list[dict[str, float]] = field(default_factory=list)
    #: task-driven runs whose recipe trains the task net: its best (else last) weights
    task_weights: Path | None = None
    #: the task option that loads ``task_weights`` (e.g. "--detector")
    task_weights_option: str = ""


class LRSchedule:
    """Learning-rate factor per iteration: step / multistep / cosine / constant, with warm-up.

    The cosine schedule follows *progress*: the larger of iterations done / planned and
    minutes spent / ``max_minutes``, so a wall-clock-budgeted run still decays to ``min_lr``
    by the time its budget ends.
    """

    def __init__(self, config: dict[str, Any], base_lr: float, iterations: int, minutes: float):
        self.config = config
        self.base_lr = base_lr
        self.iterations = iterations
        self.minutes = minutes

    def lr(self, iteration: int, elapsed_s: float) -> float:
        c = self.config
        warmup = int(c["warmup"])
        if warmup and iteration < warmup:
            return self.base_lr * (iteration + 1) / warmup
        name = c["name"]
        if name == "step":
            return self.base_lr * c["gamma"] ** (iteration // int(c["step_size"]))
        if name == "multistep":
            passed = sum(iteration >= int(m) for m in c["milestones"])
            return self.base_lr * c["gamma"] ** passed
        if name == "cosine":
            progress = iteration / max(1, self.iterations)
            if self.minutes > 0:
                progress = max(progress, elapsed_s / (60.0 * self.minutes))
            progress = min(1.0, progress)
            floor = c["min_lr"]
            return floor + 0.5 * (self.base_lr - floor) * (1 + math.cos(math.pi * progress))
        return self.base_lr


class EMA:
    """Exponential moving average of a model's weights (buffers copied as they are)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        # warm-up: early on the average would be dominated by the random init
        decay = min(self.decay, (1 + step) / (10 + step))
        for ema_p, p in zip(self.model.parameters(), model.parameters()):
            ema_p.lerp_(p.detach(), 1.0 - decay)
        for ema_b, b in zip(self.model.buffers(), model.buffers()):
            ema_b.copy_(b)


def _rng_state() -> dict[str, Any]:
    # Only tensors, numbers, strings and containers: state.pt must load with
    # torch.load(weights_only=True), which builds no other object and runs no code.
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    numpy_state = state["numpy"]
    if isinstance(numpy_state, dict):
        keys = numpy_state["keys"].numpy().astype(np.uint32)
        numpy_state = (
            numpy_state["name"],
            keys,
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    np.random.set_state(numpy_state)
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def build_model(config: dict[str, Any]) -> tuple[nn.Module, dict[str, Any]]:
    """The registered architecture with the config's hyper-parameters; returns (model, hyper)."""
    spec = get_plugin_manager().model(config["model"]["arch"])
    scale = int(config["scale"])
    if scale not in spec.scales:
        raise SrpipeError(f"{spec.name} supports scales {spec.scales}, not x{scale}")
    hyper = {
        **spec.defaults,
        **_normalisation_of(config["model"].get("init_from")),
        **(config["model"]["hyper"] or {}),
    }
    try:
        return spec.build(scale=scale, **hyper), hyper
    except TypeError as exc:
        if "unexpected keyword" not in str(exc):
            raise
        unknown = sorted(set(hyper) - set(spec.defaults))
        raise SrpipeError(
            f"model.hyper: {spec.name} has no {', '.join(unknown) or str(exc)}; it takes: "
            f"{', '.join(k for k in spec.defaults if k != 'pretrained')}"
        ) from None


#: hyper-parameters that fix how a network scales its input, not its shape: a model that
#: starts from a checkpoint must keep the checkpoint's, or its copied weights see inputs on
#: another scale (srpipe's edsr uses LIIF's encoder with rgb_range 2 and mean 0.5)
_NORMALISATION = ("rgb_range", "rgb_mean")


def _normalisation_of(path: str | Path | None) -> dict[str, Any]:
    """The input-normalisation hyper-parameters stored in an ``init_from`` checkpoint."""
    if not path:
        return {}
    meta = read_checkpoint_metadata(path) if Path(path).is_file() else None
    hyper = (meta or {}).get("hyper") or {}
    return {k: hyper[k] for k in _NORMALISATION if k in hyper}


def init_weights_from(model: nn.Module, path: str | Path) -> tuple[int, int]:
    """Copy every tensor of the checkpoint at ``path`` whose name and shape match.

    This is how x3/x4 start from the x2 model: everything but the upsampler transfers.
    Returns (copied, total tensors in the model).
    """

    source, _ = load_checkpoint(path)
    theirs = source.state_dict()
    mine = model.state_dict()
    copied = {k: v for k, v in theirs.items() if k in mine and mine[k].shape == v.shape}
    if not copied:
        raise SrpipeError(f"init_from {path}: no tensor matches this model's names and shapes")
    mine.update(copied)
    model.load_state_dict(mine)
    return len(copied), len(mine)


def _autocast(precision: str, device: torch.device):

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def sr_image(model: nn.Module, lr: np.ndarray, device: torch.device, precision: str, cl: bool):
    """Super-resolve one uint8 HWC image with ``model``; returns uint8 HWC (clamped, rounded)."""
    x = to_tensor(lr).unsqueeze(0).to(device)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), _autocast(precision, device):
        y = model(x)
    y = y.float().clamp_(0, 1).mul_(255.0).round_()
    return y[0].permute(1, 2, 0).to("cpu", torch.uint8).numpy()


class Trainer:
    """Train one SR model from a resolved config (see :mod:`srpipe.train.config`)."""

    #: the columns of val_log.csv
    val_columns: tuple[str, ...] = ("iteration", "psnr", "ssim")

    def __init__(self, config: dict[str, Any], *, resume: bool = False) -> None:
        self.config = config
        self.resume = resume
        self.out = run_dir(config)
        self._stop_signal: int | None = None

    # ----------------------------------------------------------------- setup
    def _setup(self) -> None:
        c = self.config
        self.ctx = D.init_distributed(c["device"])
        if int(c["threads"]) > 0:
            torch.set_num_threads(int(c["threads"]))
        self.scale = int(c["scale"])
        t = c["train"]
        self.precision = t["precision"]
        if self.precision == "fp16" and self.ctx.device.type != "cuda":
            raise SrpipeError("train.precision fp16 needs a CUDA device; use bf16 on CPU")
        self.channels_last = bool(t["channels_last"])

        seed_everything(int(c["seed"]))  # same seed on every rank -> identical initial weights
        self.model, self.hyper = build_model(c)
        if c["model"]["init_from"] and not self.resume:
            copied, total = init_weights_from(self.model, c["model"]["init_from"])
            self._say(f"init_from {c['model']['init_from']}: {copied}/{total} tensors copied")
        self.model.to(self.ctx.device)
        if self.channels_last:
            to_channels_last(self.model)
        self.ema = EMA(self.model, t["ema"]) if t["ema"] > 0 else None
        self.net: nn.Module = self.model
        if self.ctx.distributed:
            ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)

        o = c["optim"]
        opt_cls = torch.optim.AdamW if o["name"] == "adamw" else torch.optim.Adam
        self.optimizer = opt_cls(
            self.model.parameters(),
            lr=o["lr"],
            betas=tuple(o["betas"]),
            eps=o["eps"],
            weight_decay=o["weight_decay"],
        )
        self.schedule = LRSchedule(c["schedule"], o["lr"], int(t["iterations"]), t["max_minutes"])
        self.loss_fn = build_loss(c["loss"])
        self._setup_data()
        self.iteration = 0
        self.elapsed_s = 0.0
        self.best_psnr: float | None = None
        self.best_iteration: int | None = None
        if self.ctx.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        if self.resume:
            self._load_state()
        elif self.ctx.is_main and (self.out / STATE_FILE).exists():
            raise SrpipeError(
                f"{self.out} already holds a run; add --resume to continue it, or set name=..."
            )

    def _setup_data(self) -> None:
        """The training dataset (``self.dataset``, ``self.epoch_batches``) and ``val_pairs``."""
        c = self.config
        d = c["data"]
        train_pairs = load_pairs(d["train"], self.scale, d["train_lr"])
        batch = int(d["batch_size"])
        self.epoch_batches = int(d["epoch_batches"])
        self.dataset = PairedPatchDataset(
            train_pairs,
            self.scale,
            int(d["patch_size"]),
            augment=bool(d["augment"]),
            length=self.epoch_batches * batch * self.ctx.world_size,
            seed=int(c["seed"]),
        )
        if self.dataset.skipped:
            self._say(f"skipped (smaller than a patch): {', '.join(self.dataset.skipped)}")
        self.val_pairs = (
            load_pairs(d["val"], self.scale, d["val_lr"], int(d["val_limit"]))
            if self.ctx.is_main and d["val"]
            else []
        )

    def _say(self, message: str) -> None:
        if self.ctx.is_main:
            tqdm.write(message)

    # ------------------------------------------------------------ checkpoints
    def _eval_model(self) -> nn.Module:
        return self.ema.model if self.ema is not None else self.model

    def _save_state(self) -> None:
        """Write state.pt and last.safetensors atomically (rank 0 only)."""
        if not self.ctx.is_main:
            return
        state = {
            "iteration": self.iteration,
            "elapsed_s": self.elapsed_s,
            "model": self.model.state_dict(),
            "ema": self.ema.model.state_dict() if self.ema is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "schedule": {"base_lr": self.schedule.base_lr},
            "best_psnr": self.best_psnr,
            "best_iteration": self.best_iteration,
            "rng": _rng_state(),
            # JSON text, not the dict: a config value of any other type would need pickle
            "config_json": json.dumps(self.config, default=str),
            **self._extra_state(),
        }
        with atomic_path(self.out / STATE_FILE) as tmp:
            torch.save(state, tmp)
        self._save_weights(self.out / "last.safetensors", {})

    def _extra_state(self) -> dict[str, Any]:
        """More of ``state.pt`` (tensors and plain values only); subclasses add theirs."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_state` saved."""

    def _save_weights(self, path: Path, extra: dict[str, Any]) -> None:

        meta = {
            "trained_with": "srpipe train",
            "iteration": self.iteration,
            "ema": bool(self.ema is not None),
            "train_data": str(self.config["data"]["train"]),
            "val_data": str(self.config["data"]["val"]),
            "run": self.config["name"],
            **extra,
        }
        save_checkpoint(
            self._eval_model(),
            path,
            arch=self.config["model"]["arch"],
            scale=self.scale,
            hyper=self.hyper,
            meta=meta,
        )

    def _load_state(self) -> None:
        path = self.out / STATE_FILE
        if not path.exists():
            raise SrpipeError(f"--resume: no {STATE_FILE} in {self.out}; start without --resume")
        state = read_state(path, self.ctx.device)
        try:
            self.model.load_state_dict(state["model"])
            if self.ema is not None and state.get("ema") is not None:
                self.ema.model.load_state_dict(state["ema"])
            self.optimizer.load_state_dict(state["optimizer"])
            self._load_extra_state(state)
        except (RuntimeError, ValueError) as exc:
            # torch lists every mismatched tensor (dozens of lines); one line says it all
            raise SrpipeError(
                f"--resume: {path} does not fit this config's model "
                f"({_first_mismatch(str(exc))}); the architecture or model.hyper changed since "
                "the run started: restore them, or start a new run with name=..."
            ) from None
        self.iteration = int(state["iteration"])
        self.elapsed_s = float(state["elapsed_s"])
        self.best_psnr = state["best_psnr"]
        self.best_iteration = state["best_iteration"]
        _set_rng_state(state["rng"])
        self._say(f"resumed {self.out} at iteration {self.iteration}")
        if self.ctx.is_main:
            # a run killed after its last checkpoint logged rows the resumed run will log again
            for name in ("train_log.csv", "val_log.csv"):
                _truncate_log(self.out / name, self.iteration)

    # -------------------------------------------------------------- validation
    def validate(self) -> dict[str, float]:
        """Mean Y-PSNR / SSIM (shave = scale) of the current (EMA) model on the val images."""

        model = self._eval_model()
        was_training = model.training
        model.eval()
        scores_p, scores_s = [], []
        for pair in self.val_pairs:
            sr = sr_image(model, pair.lr, self.ctx.device, self.precision, self.channels_last)
            scores_p.append(psnr(sr, pair.hr, shave=self.scale))
            scores_s.append(ssim(sr, pair.hr, shave=self.scale))
        model.train(was_training)
        return {"psnr": float(np.mean(scores_p)), "ssim": float(np.mean(scores_s))}

    def _bicubic_reference(self) -> float:

        values = [psnr(imresize(p.lr, self.scale), p.hr, shave=self.scale) for p in self.val_pairs]
        return float(np.mean(values)) if values else float("nan")

    # -------------------------------------------------------------------- loop
    def _loader(self, epoch: int, skip_batches: int):

        d = self.config["data"]
        self.dataset.set_epoch(epoch)
        sampler = DistributedSampler(
            self.dataset,
            num_replicas=self.ctx.world_size,
            rank=self.ctx.rank,
            shuffle=True,
            seed=int(self.config["seed"]),
            drop_last=True,
        )
        sampler.set_epoch(epoch)
        batch = int(d["batch_size"])
        indices = list(sampler)[skip_batches * batch :]
        workers = int(d["num_workers"])
        return DataLoader(
            self.dataset,
            batch_size=batch,
            sampler=indices,
            num_workers=workers,
            drop_last=True,
            pin_memory=self.ctx.device.type == "cuda",
            worker_init_fn=worker_init if workers else None,
            collate_fn=self._collate(),
        )

    def _collate(self):
        """The DataLoader's collate_fn (None: torch's default stacking)."""
        return None

    def _install_signals(self) -> dict[int, Any]:
        def handler(signum, frame):
            self._stop_signal = signum

        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            # signal() fails outside the main thread (some embedding runners): then no handler
            with contextlib.suppress(ValueError):
                previous[sig] = signal.signal(sig, handler)
        return previous

    def fit(self) -> TrainResult:
        """Train until ``train.iterations``, the time budget, a signal or a NaN loss."""
        self._setup()
        previous = self._install_signals()
        try:
            return self._fit()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            D.shutdown(self.ctx)

    def _fit(self) -> TrainResult:
        c, t = self.config, self.config["train"]
        total = int(t["iterations"])
        budget_s = 60.0 * t["max_minutes"]
        writer = None
        bar = None
        if self.ctx.is_main:
            write_text(self.out / "config.yaml", dump_config(c))
            if t["tensorboard"]:
                writer = SummaryWriter(str(self.out / "tb"), purge_step=self.iteration + 1)
            if self.val_pairs and not self.resume:
                bicubic = self._bicubic_reference()
                self._say(f"validation: {len(self.val_pairs)} images, bicubic {bicubic:.3f} dB")
                _append_csv(
                    self.out / "val_log.csv",
                    list(self.val_columns),
                    [0, round(bicubic, 4)] + [float("nan")] * (len(self.val_columns) - 2),
                )
                self._before_first_step(writer)

            bar = tqdm(
                total=total,
                initial=self.iteration,
                desc=c["name"],
                dynamic_ncols=True,
                disable=not t["progress"],
                unit="it",
            )
        self.net.train()
        status = "finished"
        start = time.perf_counter() - self.elapsed_s
        window_t, window_n, loss_sum = time.perf_counter(), 0, 0.0
        while self.iteration < total and status == "finished":
            epoch, skip = divmod(self.iteration, self.epoch_batches)
            for batch in self._loader(epoch, skip):
                lr_now = self.schedule.lr(self.iteration, self.elapsed_s)
                loss = self._train_step(batch, lr_now)
                self.iteration += 1
                if self.ema is not None:
                    self.ema.update(self.model, self.iteration)
                self.elapsed_s = time.perf_counter() - start
                loss_value = float(D.all_mean(self.ctx, loss.detach()))
                loss_sum += loss_value
                window_n += 1

                if self.ctx.is_main:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{lr_now:.2e}", refresh=False)
                    if self.iteration % int(t["log_every"]) == 0 or self.iteration == total:
                        now = time.perf_counter()
                        row = [
                            self.iteration,
                            round(loss_sum / window_n, 6),
                            lr_now,
                            round(window_n / max(now - window_t, 1e-9), 4),
                            round(self.elapsed_s, 3),
                        ]
                        _append_csv(
                            self.out / "train_log.csv",
                            ["iteration", "loss", "lr", "it_per_s", "elapsed_s"],
                            row,
                        )
                        if writer is not None:
                            writer.add_scalar("train/loss", row[1], self.iteration)
                            writer.add_scalar("train/lr", lr_now, self.iteration)
                            writer.add_scalar("train/it_per_s", row[3], self.iteration)
                        window_t, window_n, loss_sum = now, 0, 0.0

                out_of_time = budget_s > 0 and D.any_rank(self.ctx, self.elapsed_s >= budget_s)
                stop = D.any_rank(self.ctx, self._stop_signal is not None)
                last = self.iteration >= total or out_of_time
                if self.iteration % int(t["val_every"]) == 0 or last:
                    self._validate_and_keep(writer)
                if self.iteration % int(t["checkpoint_every"]) == 0 or last or stop:
                    self._save_state()
                    D.barrier(self.ctx)
                if stop:
                    status = "interrupted"
                    self._say(
                        f"signal {self._stop_signal}: checkpoint written at iteration "
                        f"{self.iteration}; continue with --resume"
                    )
                    break
                if out_of_time:
                    status = "budget"
                    self._say(f"time budget of {t['max_minutes']} min spent; stopped cleanly")
                    break
                if last:
                    break
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.close()
        if self.ctx.is_main and status != "interrupted":
            plot_curves(self.out)
        return TrainResult(
            status,
            self.iteration,
            self.best_psnr,
            self.best_iteration,
            self.out,
            self.elapsed_s,
            self._stop_signal if status == "interrupted" else None,
            self.ctx.is_main,
        )

    def _check_finite(self, loss: torch.Tensor) -> None:
        """Stop before a NaN/Inf loss is applied (on every rank if any rank sees one)."""
        if D.any_rank(self.ctx, not bool(torch.isfinite(loss))):
            raise TrainingStopped(
                f"loss became {loss.item()} at iteration {self.iteration + 1}; stopped "
                f"without applying it. Last good checkpoint: {self.out / STATE_FILE} "
                "(lower optim.lr, add optim.grad_clip, or train.precision=fp32, then "
                "--resume)"
            )

    def _train_step(self, batch: Any, lr_now: float) -> torch.Tensor:
        """One optimisation step on a batch; returns the (detached) loss."""
        lr_img, hr_img = batch
        lr_img = lr_img.to(self.ctx.device, non_blocking=True)
        hr_img = hr_img.to(self.ctx.device, non_blocking=True)
        if self.channels_last:
            lr_img = lr_img.contiguous(memory_format=torch.channels_last)
            hr_img = hr_img.contiguous(memory_format=torch.channels_last)
        for group in self.optimizer.param_groups:
            group["lr"] = lr_now
        with _autocast(self.precision, self.ctx.device):
            sr = self.net(lr_img)
        # a list when the network is deeply supervised (LapSRN levels, SRFBN steps)
        loss = self.loss_fn(sr, hr_img)
        self._optimise_sr(loss)
        return loss.detach()

    def _optimise_sr(self, loss: torch.Tensor) -> None:
        """One optimizer step of the SR network on ``loss`` (finite check, clipping)."""
        self._check_finite(loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config["optim"]["grad_clip"] > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config["optim"]["grad_clip"])
        self.optimizer.step()

    def _before_first_step(self, writer) -> None:
        """Called once at the start of a new run (rank 0, after the bicubic reference)."""

    def _validate_and_keep(self, writer) -> None:
        if not self.ctx.is_main or not self.val_pairs:
            D.barrier(self.ctx)
            return
        scores = self.validate()
        _append_csv(
            self.out / "val_log.csv",
            ["iteration", "psnr", "ssim"],
            [self.iteration, round(scores["psnr"], 4), round(scores["ssim"], 5)],
        )
        if writer is not None:
            writer.add_scalar("val/psnr_y", scores["psnr"], self.iteration)
            writer.add_scalar("val/ssim_y", scores["ssim"], self.iteration)
        improved = self.best_psnr is None or scores["psnr"] > self.best_psnr
        if improved:
            self.best_psnr, self.best_iteration = scores["psnr"], self.iteration
            self._save_weights(
                self.out / "best.safetensors",
                {"val_psnr_y": round(scores["psnr"], 4), "val_ssim_y": round(scores["ssim"], 5)},
            )
        self._say(
            f"iter {self.iteration}: val Y-PSNR {scores['psnr']:.3f} dB, SSIM {scores['ssim']:.4f}"
            + (" (best)" if improved else f" (best {self.best_psnr:.3f} @ {self.best_iteration})")
        )
        D.barrier(self.ctx)


def read_state(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a ``state.pt`` without running code from it (one-line errors otherwise).

    ``weights_only=True`` lets the unpickler build tensors and plain containers only; a
    file that asks for any other object (what a planted payload needs) is refused. The
    allow-list admits the numpy RNG state that runs of older srpipe versions stored.
    """

    allowed = _legacy_numpy_globals()
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(allowed):
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        hint = next((ln for ln in str(exc).splitlines() if "GLOBAL" in ln), "").strip()
        raise SrpipeError(
            f"--resume: refusing {path}: it asks to build objects srpipe never saves "
            f"({hint[:100] or 'unsafe pickle'}); it was not written by srpipe train, or was "
            "tampered with: delete it and start the run again"
        ) from None
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0].split(". ")[0][:100] if str(exc).strip() else ""
        raise SrpipeError(
            f"--resume: {path} is unreadable ({reason or type(exc).__name__}), probably "
            "truncated; delete it and start again (last.safetensors / best.safetensors hold "
            "the latest weights: model.init_from can start from them)"
        ) from None
    needed = {"model", "optimizer", "iteration", "elapsed_s", "rng"}
    if not isinstance(state, dict) or not needed <= set(state):
        raise SrpipeError(
            f"--resume: {path} is not an srpipe training state (missing "
            f"{', '.join(sorted(needed - set(state) if isinstance(state, dict) else needed))})"
            "; delete it and start again"
        )
    return state


def _legacy_numpy_globals() -> list[Any]:
    # numpy's own documented-safe array rebuild (what torch's docs name for this case);
    # imported here: numpy._core is numpy 2's private layout, needed only for old checkpoints
    from numpy._core.multiarray import _reconstruct  # noqa: PLC0415

    return [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def _first_mismatch(message: str) -> str:
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    detail = next((ln for ln in lines[1:] if "size mismatch" in ln or "Missing" in ln), "")
    detail = detail or (lines[0] if lines else "")
    return detail.rstrip(".")[:140]


def _append_csv(path: Path, header: list[str], row: list[Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        w = csv.writer(handle)
        if new:
            w.writerow(header)
        w.writerow(row)
        handle.flush()
        os.fsync(handle.fileno())


def _truncate_log(path: Path, iteration: int) -> None:
    if not path.exists():
        return
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and int(float(r[0])) <= iteration]
    with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
        csv.writer(handle).writerows(kept)


def train(config: dict[str, Any], *, resume: bool = False) -> TrainResult:
    """Run :class:`Trainer` on a resolved config."""
    return Trainer(config, resume=resume).fit()
