"""How a run's weights move: the optimizer, the learning-rate schedule and the EMA copy.

Each is a pure function of the config and the iteration (and, for a wall-clock budget,
the elapsed time), so a resumed run continues on the same curve. Separate from the loop
(:mod:`srpipe.train.trainer`) because the schedule and EMA are tested and tuned on their
own, without data or a run folder.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn


def build_optimizer(model: nn.Module, optim: dict[str, Any]) -> torch.optim.Optimizer:
    """Adam or AdamW over ``model``'s parameters with the config's ``optim`` section."""
    import torch

    opt_cls = torch.optim.AdamW if optim["name"] == "adamw" else torch.optim.Adam
    return opt_cls(
        model.parameters(),
        lr=optim["lr"],
        betas=tuple(optim["betas"]),
        eps=optim["eps"],
        weight_decay=optim["weight_decay"],
    )


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
        """The learning rate of step ``iteration`` after ``elapsed_s`` seconds of training."""
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

    def update(self, model: nn.Module, step: int) -> None:
        """Move the average towards ``model``'s weights after optimisation step ``step``."""
        import torch

        # warm-up: early on the average would be dominated by the random init
        decay = min(self.decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for ema_p, p in zip(self.model.parameters(), model.parameters()):
                ema_p.lerp_(p.detach(), 1.0 - decay)
            for ema_b, b in zip(self.model.buffers(), model.buffers()):
                ema_b.copy_(b)
