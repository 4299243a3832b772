"""Task-driven SR training: ``srpipe train --task NAME --recipe s2t|t2s|tdp|sr4ir``.

:class:`TaskTrainer` is the SR :class:`~srpipe.train.trainer.Trainer` (same run folder,
config, schedule, EMA, bf16, DDP, signals, resume) with three changes:

* data: the task's own training items (:meth:`DifferentiableView.training_data`, ``train``
  to fit, ``val`` to select), whole HR images with their targets, LR made by the protocol
  bicubic once per image. Whole images because targets have coordinates: a crop or flip
  would have to move them, which only the task knows how to do. Images of one run must
  share one size (batches are stacked).
* the step: the recipe's losses (:mod:`srpipe.train.recipes`), with the task net's own
  optimizer when the recipe trains it. Its learning rate follows the SR schedule's factor.
* selection: the checkpoint kept as ``best`` is the one with the lowest task loss of SR
  images on the val split (the feature loss when the task has no loss), not the highest
  PSNR. ``val_log.csv`` records both.

Outputs besides the plain trainer's: ``task_last<suffix>`` / ``task_best<suffix>`` (when
the recipe trains the task net), loadable by the task's weights option (``--detector``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset as TorchDataset

from srpipe.atomic import atomic_path
from srpipe.errors import SrpipeError
from srpipe.image.metrics import psnr, ssim
from srpipe.image.resize import degrade, modcrop
from srpipe.plugins import get_plugin_manager
from srpipe.task import DifferentiableView, Task, TaskContext
from srpipe.train.data_parallel import average_gradients, broadcast_buffers
from srpipe.train.datasets import to_tensor
from srpipe.train.recipes import RECIPES, cqmix
from srpipe.train.run_state import append_csv
from srpipe.train.trainer import Trainer
from srpipe.upscaling.forward import autocast

TASK_PREFIX = "task_"


class TaskImageDataset(TorchDataset):
    """Whole (LR, HR, target) samples; every sample is a pure function of (seed, epoch, index)."""

    def __init__(self, items: list[Any], scale: int, length: int, seed: int = 0) -> None:
        if not items:
            raise SrpipeError("the task's training data has no items")
        self.hr = [np.ascontiguousarray(modcrop(it.hr_image(), scale)) for it in items]
        shapes = {h.shape for h in self.hr}
        if len(shapes) > 1:
            raise SrpipeError(
                f"task-driven training stacks whole images, but the task's images have "
                f"{len(shapes)} sizes ({', '.join(f'{s[1]}x{s[0]}' for s in sorted(shapes)[:3])}"
                "...); give task.data with images of one size"
            )
        self.lr = [np.ascontiguousarray(degrade(h, scale)) for h in self.hr]
        self.targets = [it.target for it in items]
        self.length = int(length)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose samples ``__getitem__`` returns."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, Any]:
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        i = int(rng.integers(len(self.hr)))
        return to_tensor(self.lr[i]), to_tensor(self.hr[i]), self.targets[i]


def collate_with_targets(samples: list[tuple[torch.Tensor, torch.Tensor, Any]]):
    """Stack images; keep targets as a list (they are the task's own objects)."""
    lr, hr, targets = zip(*samples)
    return torch.stack(lr), torch.stack(hr), list(targets)


def build_task_view(config: dict[str, Any], device: torch.device) -> tuple[Task, Any]:
    """Set the configured task up (its eval options + ``task.options``) and get its view."""
    t = config["task"]
    pm = get_plugin_manager()
    task_cls = pm.task(t["name"])
    declared = {p.name: p.default for p in task_cls.options("eval") if p.name}
    given = dict(t["options"] or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise SrpipeError(
            f"task.options: {t['name']} has no option {', '.join(unknown)}; it takes: "
            f"{', '.join(sorted(declared)) or 'none'}"
        )
    task = task_cls()
    task.setup(
        TaskContext(
            command="eval",
            device=str(device),
            scales=(int(config["scale"]),),
            options={**declared, **given},
        )
    )
    view = task.differentiable(device)
    if view is None:
        able = [n for n, c in pm.tasks().items() if c.differentiable is not Task.differentiable]
        raise SrpipeError(
            f"task {t['name']!r} has no differentiable view, so it cannot drive SR training; "
            f"tasks that can: {', '.join(sorted(able)) or 'none installed'}"
        )
    recipe = RECIPES[t["recipe"]]
    missing = recipe.needs - view.capabilities()
    if missing:
        raise SrpipeError(
            f"recipe {recipe.name} needs the task's {', '.join(sorted(missing))}, which "
            f"{t['name']} does not provide; recipes it can run: "
            f"{', '.join(n for n, r in RECIPES.items() if r.needs <= view.capabilities())}"
        )
    return task, view


class TaskTrainer(Trainer):
    """Train SR (and, by recipe, the task net) through a task's :class:`DifferentiableView`."""

    val_columns = ("iteration", "psnr", "ssim", "task_loss")

    def _setup_data(self) -> None:
        c = self.config
        t = c["task"]
        self.recipe = RECIPES[t["recipe"]]
        self.task, self.view = build_task_view(c, self.device)
        d = c["data"]
        batch = int(d["batch_size"])
        self.epoch_batches = int(d["epoch_batches"])
        train_items = self.view.training_data("train", t["data"]).items
        self.dataset = TaskImageDataset(
            train_items,
            self.scale,
            length=self.epoch_batches * batch * self.ranks.world_size,
            seed=int(c["seed"]),
        )
        val = self.view.training_data("val", t["data"]).items if self.ranks.is_main else []
        # after the data: a task may choose its default model by the data's classes
        self.view_module: nn.Module | None = self.view.module
        if self.view_module is not None:
            self.view_module.to(self.device)
        if int(d["val_limit"]):
            val = val[: int(d["val_limit"])]
        self.val_set = TaskImageDataset(val, self.scale, len(val)) if val else None
        # the plain trainer validates val_pairs; here they are the val set's LR/HR images
        self.val_pairs = (
            [_Pair(lr, hr) for lr, hr in zip(self.val_set.lr, self.val_set.hr)]
            if self.val_set is not None
            else []
        )
        self.best_task_loss: float | None = None
        self.task_optimizer = None
        if self.recipe.trains_task:
            o = t["optim"]
            params = list(self.view_module.parameters())
            if o["name"] == "sgd":
                self.task_optimizer = torch.optim.SGD(
                    params, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weight_decay"]
                )
            else:
                cls = torch.optim.AdamW if o["name"] == "adamw" else torch.optim.Adam
                self.task_optimizer = cls(params, lr=o["lr"], weight_decay=o["weight_decay"])
        self._freeze_task()

    def fit(self):
        """Train; the result also names the task weights written (if the recipe trains them)."""
        result = super().fit()
        result.task_weights_option = self.view.weights_option
        if self.task_optimizer is not None and result.is_main:
            for best in (True, False):
                path = task_weights_path(self.out, self.view, best)
                if path.exists():
                    result.task_weights = path
                    break
        return result

    def _collate(self):
        return collate_with_targets

    # ------------------------------------------------------------------ state
    def _extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"best_task_loss": self.best_task_loss}
        if self.task_optimizer is not None:
            state["task_module"] = self.view_module.state_dict()
            state["task_optimizer"] = self.task_optimizer.state_dict()
        return state

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.best_task_loss = state.get("best_task_loss")
        if self.task_optimizer is not None:
            if "task_module" not in state:
                raise SrpipeError(
                    "--resume: this state.pt holds no task net, but the recipe trains one; "
                    "was the run started with another recipe?"
                )
            self.view_module.load_state_dict(state["task_module"])
            self.task_optimizer.load_state_dict(state["task_optimizer"])

    def _save_state(self) -> None:
        super()._save_state()
        if self.ranks.is_main and self.task_optimizer is not None:
            self._save_task(self.out / f"{TASK_PREFIX}last{self.view.weights_suffix}")

    def _save_task(self, path: Path) -> None:
        was_training = self.view_module.training
        self.view_module.eval()
        with atomic_path(path) as tmp:
            self.view.save(tmp)
        self.view_module.train(was_training)

    # ------------------------------------------------------------------- step
    def _freeze_task(self) -> None:
        if self.view_module is not None:
            self.view_module.eval()
            self.view_module.requires_grad_(False)

    def _unfreeze_task(self) -> None:
        self.view_module.train()
        self.view_module.requires_grad_(True)

    def _train_step(self, batch: Any, lr_now: float) -> torch.Tensor:
        lr_img, hr_img, targets = batch
        device = self.device
        lr_img = lr_img.to(device, non_blocking=True)
        hr_img = hr_img.to(device, non_blocking=True)
        t = self.config["task"]
        w = t["weights"]
        total = torch.zeros((), device=device)

        if self.recipe.trains_sr:
            self._freeze_task()
            for group in self.optimizer.param_groups:
                group["lr"] = lr_now
            with autocast(self.precision, device):
                out = self.net(lr_img)
            # deeply supervised nets return every level: the pixel loss takes them all, the
            # task sees the final image
            loss = w["pixel"] * self.loss_fn(out, hr_img)
            sr = (out[-1] if isinstance(out, (list, tuple)) else out).float()
            driven = self.iteration >= int(t["warmup"])
            if driven and self.recipe.name == "t2s" and w["task"] > 0:
                with autocast(self.precision, device):
                    task_loss = self.view.loss(sr, targets)
                loss = loss + w["task"] * task_loss.float()
            if driven and self.recipe.name in ("tdp", "sr4ir") and w["tdp"] > 0:
                with torch.no_grad(), autocast(self.precision, device):
                    hr_feats = self.view.features(hr_img)
                with autocast(self.precision, device):
                    sr_feats = self.view.features(sr)
                loss = loss + w["tdp"] * self.view.feature_loss(sr_feats, hr_feats).float()
            self._optimise_sr(loss)
            total = total + loss.detach()
            sr_seen = sr.detach()
        elif self.recipe.trains_task:
            with torch.no_grad(), autocast(self.precision, device):
                sr_seen = self.model.eval()(lr_img).float()

        if self.recipe.trains_task:
            total = total + self._task_step(sr_seen.clamp(0, 1), hr_img, targets, lr_now)
        return total

    def _task_step(self, sr, hr, targets, lr_now: float) -> torch.Tensor:
        """Update the task net on SR (and for sr4ir, HR and CQMix) images; SR is detached."""
        t = self.config["task"]
        w = t["weights"]
        self._unfreeze_task()
        factor = lr_now / max(self.schedule.base_lr, 1e-30)
        for group in self.task_optimizer.param_groups:
            group["lr"] = t["optim"]["lr"] * factor
        inputs = [(w["sr"] if self.recipe.name == "sr4ir" else 1.0, sr)]
        if self.recipe.name == "sr4ir":
            # the mask is drawn from (seed, iteration): a resumed run draws the same ones
            gen = torch.Generator().manual_seed(
                int(self.config["seed"]) * 1_000_003 + self.iteration
            )
            mixed = cqmix(
                sr,
                hr,
                int(t["cqmix_patch"]),
                gen,
                rank=self.ranks.rank,
                world=self.ranks.world_size,
            )
            inputs += [(w["hr"], hr), (w["mix"], mixed)]
        loss = torch.zeros((), device=sr.device)
        for weight, images in inputs:
            if weight > 0:
                with autocast(self.precision, self.device):
                    loss = loss + weight * self.view.loss(images, targets).float()
        self._check_finite(loss)
        self.task_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # the task net runs inside the task's own loss, so it cannot be wrapped in DDP:
        # its gradients are averaged here, and rank 0's BatchNorm statistics shared after
        # the step, as DDP would do
        average_gradients(self.ranks, list(self.view_module.parameters()), self.device)
        params = [p for p in self.view_module.parameters() if p.grad is not None]
        if t["optim"]["grad_clip"] > 0:
            nn.utils.clip_grad_norm_(params, t["optim"]["grad_clip"])
        self.task_optimizer.step()
        broadcast_buffers(self.ranks, self.view_module, self.device)
        self._freeze_task()
        return loss.detach()

    # ------------------------------------------------------------- validation
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Y-PSNR/SSIM of SR on the val images, and the task loss on those SR images."""
        model = self._eval_model()
        was_training = model.training
        model.eval()
        self._freeze_task()
        device = self.device
        batch = int(self.config["data"]["batch_size"])
        p_scores, s_scores, task_scores, weights = [], [], [], []
        for start in range(0, len(self.val_set.hr), batch):
            stop = min(start + batch, len(self.val_set.hr))
            srs = [self._super_resolve(model, self.val_set.lr[i]) for i in range(start, stop)]
            for i, sr in zip(range(start, stop), srs):
                p_scores.append(psnr(sr, self.val_set.hr[i], shave=self.scale))
                s_scores.append(ssim(sr, self.val_set.hr[i], shave=self.scale))
            # the task sees what a user's image would hold: the clamped, rounded SR output
            images = torch.stack([to_tensor(s) for s in srs]).to(device)
            with autocast(self.precision, device):
                if "loss" in self.view.capabilities():
                    value = self.view.loss(images, self.val_set.targets[start:stop])
                else:
                    hr = torch.stack([to_tensor(h) for h in self.val_set.hr[start:stop]])
                    value = self.view.feature_loss(
                        self.view.features(images), self.view.features(hr.to(device))
                    )
            task_scores.append(float(value))
            weights.append(stop - start)
        model.train(was_training)
        return {
            "psnr": float(np.mean(p_scores)),
            "ssim": float(np.mean(s_scores)),
            "task_loss": float(np.average(task_scores, weights=weights)),
        }

    def _before_first_step(self, writer) -> None:
        # the untrained pair is the bar to beat: if no step improves the val task loss,
        # best.safetensors / task_best stay the initial weights
        # (rank 0 only, so no barrier here)
        if self.val_set is not None:
            self._keep_if_better(writer)

    def _validate_and_keep(self, writer) -> None:
        if self.ranks.is_main and self.val_set is not None:
            self._keep_if_better(writer)
        self.ranks.barrier()

    def _keep_if_better(self, writer) -> None:
        """Validate; keep best.safetensors (and the task's best) on a lower val task loss."""
        scores = self.validate()
        append_csv(
            self.out / "val_log.csv",
            list(self.val_columns),
            [
                self.iteration,
                round(scores["psnr"], 4),
                round(scores["ssim"], 5),
                round(scores["task_loss"], 6),
            ],
        )
        if writer is not None:
            writer.add_scalar("val/psnr_y", scores["psnr"], self.iteration)
            writer.add_scalar("val/task_loss", scores["task_loss"], self.iteration)
        improved = self.best_task_loss is None or scores["task_loss"] < self.best_task_loss
        if improved:
            self.best_task_loss = scores["task_loss"]
            self.best_psnr, self.best_iteration = scores["psnr"], self.iteration
            self._save_weights(
                self.out / "best.safetensors",
                {
                    "val_psnr_y": round(scores["psnr"], 4),
                    "val_task_loss": round(scores["task_loss"], 6),
                    "task": self.config["task"]["name"],
                    "recipe": self.recipe.name,
                },
            )
            if self.task_optimizer is not None:
                self._save_task(self.out / f"{TASK_PREFIX}best{self.view.weights_suffix}")
        self._say(
            f"iter {self.iteration}: val task loss {scores['task_loss']:.4f}, Y-PSNR "
            f"{scores['psnr']:.3f} dB"
            + (
                " (best)"
                if improved
                else f" (best {self.best_task_loss:.4f} @ {self.best_iteration})"
            )
        )


class _Pair:
    """What the plain trainer's bicubic reference reads (``lr``, ``hr``)."""

    def __init__(self, lr: np.ndarray, hr: np.ndarray) -> None:
        self.lr, self.hr = lr, hr


def task_weights_path(run: Path, view: DifferentiableView | None, best: bool = True) -> Path:
    """Where the run keeps the task net's weights (best or last)."""
    suffix = view.weights_suffix if view is not None else ".pt"
    return run / f"{TASK_PREFIX}{'best' if best else 'last'}{suffix}"


def train_task(config: dict[str, Any], *, resume: bool = False):
    """Run :class:`TaskTrainer` on a resolved config with a ``task`` section."""
    return TaskTrainer(config, resume=resume).fit()
