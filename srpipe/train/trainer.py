"""The SR training loop behind ``srpipe train``.

The loop and its stop handling; beside it: the run folder's resume state and logs
(:mod:`~srpipe.train.run_state`), the network (:mod:`~srpipe.train.network`), the optimizer,
schedule and EMA (:mod:`~srpipe.train.optimisation`), ranks and DDP
(:mod:`srpipe.distributed`, :mod:`~srpipe.train.data_parallel`), data, losses and config.
Validation runs the SR forward that ``srpipe eval`` measures
(:func:`srpipe.upscaling.forward.super_resolve`), so its PSNR is ``eval sr``'s for the same
weights.

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
import json
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from srpipe.atomic import atomic_path, write_text
from srpipe.distributed import workers
from srpipe.errors import SrpipeError
from srpipe.image.metrics import psnr, ssim
from srpipe.image.resize import imresize
from srpipe.models.checkpoint import save_checkpoint
from srpipe.models.layout import to_channels_last
from srpipe.train.config import dump_config, run_dir
from srpipe.train.curves import plot_curves
from srpipe.train.data_parallel import training_device, wrap
from srpipe.train.datasets import PairedPatchDataset, load_pairs, worker_init
from srpipe.train.losses import build_loss
from srpipe.train.network import build_model, init_weights_from, seed_everything
from srpipe.train.optimisation import EMA, LRSchedule, build_optimizer
from srpipe.train.run_state import (
    STATE_FILE,
    append_csv,
    first_mismatch,
    read_state,
    rng_state,
    set_rng_state,
    truncate_log,
)
from srpipe.upscaling.forward import autocast, super_resolve


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
        self.ranks = workers()
        self.device = training_device(self.ranks, c["device"])
        if int(c["threads"]) > 0:
            torch.set_num_threads(int(c["threads"]))
        self.scale = int(c["scale"])
        t = c["train"]
        self.precision = t["precision"]
        if self.precision == "fp16" and self.device.type != "cuda":
            raise SrpipeError("train.precision fp16 needs a CUDA device; use bf16 on CPU")
        self.channels_last = bool(t["channels_last"])

        seed_everything(int(c["seed"]))  # same seed on every rank -> identical initial weights
        self.model, self.hyper = build_model(c)
        if c["model"]["init_from"] and not self.resume:
            copied, total = init_weights_from(self.model, c["model"]["init_from"])
            self._say(f"init_from {c['model']['init_from']}: {copied}/{total} tensors copied")
        self.model.to(self.device)
        if self.channels_last:
            to_channels_last(self.model)
        self.ema = EMA(self.model, t["ema"]) if t["ema"] > 0 else None
        self.net: nn.Module = wrap(self.model, self.ranks, self.device)

        o = c["optim"]
        self.optimizer = build_optimizer(self.model, o)
        self.schedule = LRSchedule(c["schedule"], o["lr"], int(t["iterations"]), t["max_minutes"])
        self.loss_fn = build_loss(c["loss"])
        self._setup_data()
        self.iteration = 0
        self.elapsed_s = 0.0
        self.best_psnr: float | None = None
        self.best_iteration: int | None = None
        #: the iteration state.pt holds (None until one exists): what a divergence points to
        self.checkpoint_iteration: int | None = None
        if self.ranks.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        if self.resume:
            self._load_state()
        elif self.ranks.is_main and (self.out / STATE_FILE).exists():
            raise SrpipeError(
                f"{self.out} already holds a run; add --resume to continue it, or set name=..."
            )
        elif self.ranks.is_main:
            # a run that stopped before its first checkpoint (diverged, killed) left logs but
            # no state.pt; starting again must not append to its rows
            for name in ("train_log.csv", "val_log.csv"):
                truncate_log(self.out / name, -1)

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
            length=self.epoch_batches * batch * self.ranks.world_size,
            seed=int(c["seed"]),
        )
        if self.dataset.skipped:
            self._say(f"skipped (smaller than a patch): {', '.join(self.dataset.skipped)}")
        self.val_pairs = (
            load_pairs(d["val"], self.scale, d["val_lr"], int(d["val_limit"]))
            if self.ranks.is_main and d["val"]
            else []
        )

    def _say(self, message: str) -> None:
        if self.ranks.is_main:
            tqdm.write(message)

    # ------------------------------------------------------------ checkpoints
    def _eval_model(self) -> nn.Module:
        return self.ema.model if self.ema is not None else self.model

    def _save_state(self) -> None:
        """Write state.pt and last.safetensors atomically (rank 0 only)."""
        if not self.ranks.is_main:
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
            "rng": rng_state(),
            # JSON text, not the dict: a config value of any other type would need pickle
            "config_json": json.dumps(self.config, default=str),
            **self._extra_state(),
        }
        with atomic_path(self.out / STATE_FILE) as tmp:
            torch.save(state, tmp)
        self._save_weights(self.out / "last.safetensors", {})
        self.checkpoint_iteration = self.iteration

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
        state = read_state(path, self.device)
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
                f"({first_mismatch(str(exc))}); the architecture or model.hyper changed since "
                "the run started: restore them, or start a new run with name=..."
            ) from None
        self.iteration = int(state["iteration"])
        self.checkpoint_iteration = self.iteration
        self.elapsed_s = float(state["elapsed_s"])
        self.best_psnr = state["best_psnr"]
        self.best_iteration = state["best_iteration"]
        set_rng_state(state["rng"])
        self._say(f"resumed {self.out} at iteration {self.iteration}")
        if self.ranks.is_main:
            # a run killed after its last checkpoint logged rows the resumed run will log again
            for name in ("train_log.csv", "val_log.csv"):
                truncate_log(self.out / name, self.iteration)

    # -------------------------------------------------------------- validation
    def validate(self) -> dict[str, float]:
        """Mean Y-PSNR / SSIM (shave = scale) of the current (EMA) model on the val images."""

        model = self._eval_model()
        was_training = model.training
        model.eval()
        scores_p, scores_s = [], []
        for pair in self.val_pairs:
            sr = self._super_resolve(model, pair.lr)
            scores_p.append(psnr(sr, pair.hr, shave=self.scale))
            scores_s.append(ssim(sr, pair.hr, shave=self.scale))
        model.train(was_training)
        return {"psnr": float(np.mean(scores_p)), "ssim": float(np.mean(scores_s))}

    def _super_resolve(self, model: nn.Module, lr: np.ndarray) -> np.ndarray:
        """One uint8 LR image through ``model`` by the forward ``srpipe eval`` measures with
        (same layout, autocast, clamp and round half up), so validation PSNR is eval's."""
        return super_resolve(
            model,
            [lr],
            scale=self.scale,
            device=str(self.device),
            precision=self.precision,
            channels_last=self.channels_last,
        )[0]

    def _bicubic_reference(self) -> float:

        values = [psnr(imresize(p.lr, self.scale), p.hr, shave=self.scale) for p in self.val_pairs]
        return float(np.mean(values)) if values else float("nan")

    # -------------------------------------------------------------------- loop
    def _loader(self, epoch: int, skip_batches: int):

        d = self.config["data"]
        self.dataset.set_epoch(epoch)
        sampler = DistributedSampler(
            self.dataset,
            num_replicas=self.ranks.world_size,
            rank=self.ranks.rank,
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
            pin_memory=self.device.type == "cuda",
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

    def _fit(self) -> TrainResult:
        c, t = self.config, self.config["train"]
        total = int(t["iterations"])
        budget_s = 60.0 * t["max_minutes"]
        writer = None
        bar = None
        if self.ranks.is_main:
            write_text(self.out / "config.yaml", dump_config(c))
            if t["tensorboard"]:
                writer = SummaryWriter(str(self.out / "tb"), purge_step=self.iteration + 1)
            if self.val_pairs and not self.resume:
                bicubic = self._bicubic_reference()
                self._say(f"validation: {len(self.val_pairs)} images, bicubic {bicubic:.3f} dB")
                append_csv(
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
                loss_value = self.ranks.mean(float(loss))
                loss_sum += loss_value
                window_n += 1

                if self.ranks.is_main:
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
                        append_csv(
                            self.out / "train_log.csv",
                            ["iteration", "loss", "lr", "it_per_s", "elapsed_s"],
                            row,
                        )
                        if writer is not None:
                            writer.add_scalar("train/loss", row[1], self.iteration)
                            writer.add_scalar("train/lr", lr_now, self.iteration)
                            writer.add_scalar("train/it_per_s", row[3], self.iteration)
                        window_t, window_n, loss_sum = now, 0, 0.0

                out_of_time = budget_s > 0 and self.ranks.any_rank(self.elapsed_s >= budget_s)
                stop = self.ranks.any_rank(self._stop_signal is not None)
                last = self.iteration >= total or out_of_time
                if self.iteration % int(t["val_every"]) == 0 or last:
                    self._validate_and_keep(writer)
                if self.iteration % int(t["checkpoint_every"]) == 0 or last or stop:
                    self._save_state()
                    self.ranks.barrier()
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
        if self.ranks.is_main and status != "interrupted":
            plot_curves(self.out)
        return TrainResult(
            status,
            self.iteration,
            self.best_psnr,
            self.best_iteration,
            self.out,
            self.elapsed_s,
            self._stop_signal if status == "interrupted" else None,
            self.ranks.is_main,
        )

    def _check_finite(self, loss: torch.Tensor) -> None:
        """Stop before a NaN/Inf loss is applied (on every rank if any rank sees one)."""
        if self.ranks.any_rank(not bool(torch.isfinite(loss))):
            fixes = "lower optim.lr, add optim.grad_clip, or train.precision=fp32"
            where = f"loss became {loss.item()} at iteration {self.iteration + 1}; stopped "
            if self.checkpoint_iteration is None:
                # nothing was saved yet: pointing at state.pt would send the user to a file
                # that does not exist (the first checkpoint is due at checkpoint_every)
                raise TrainingStopped(
                    f"{where}before its first checkpoint (due at iteration "
                    f"{self.config['train']['checkpoint_every']}), so there is nothing to "
                    f"resume: {fixes}, then run again without --resume"
                )
            raise TrainingStopped(
                f"{where}without applying it. Last good checkpoint: {self.out / STATE_FILE} "
                f"(iteration {self.checkpoint_iteration}; {fixes}, then --resume)"
            )

    def _train_step(self, batch: Any, lr_now: float) -> torch.Tensor:
        """One optimisation step on a batch; returns the (detached) loss."""
        lr_img, hr_img = batch
        lr_img = lr_img.to(self.device, non_blocking=True)
        hr_img = hr_img.to(self.device, non_blocking=True)
        if self.channels_last:
            lr_img = lr_img.contiguous(memory_format=torch.channels_last)
            hr_img = hr_img.contiguous(memory_format=torch.channels_last)
        for group in self.optimizer.param_groups:
            group["lr"] = lr_now
        with autocast(self.precision, self.device):
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
        if not self.ranks.is_main or not self.val_pairs:
            self.ranks.barrier()
            return
        scores = self.validate()
        append_csv(
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
        self.ranks.barrier()


def train(config: dict[str, Any], *, resume: bool = False) -> TrainResult:
    """Run :class:`Trainer` on a resolved config."""
    return Trainer(config, resume=resume).fit()
