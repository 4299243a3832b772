"""The optimisation side of a run: EMA of the weights, learning-rate schedules and warm-up."""

from __future__ import annotations

import math

import pytest
import torch

from srpipe.train.optimisation import EMA, LRSchedule, build_optimizer


def test_ema_averages_weights():
    model = torch.nn.Linear(2, 2)
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model.weight.add_(1.0)
    before = ema.model.weight.clone()
    ema.update(model, step=1000)
    expected = 0.9 * before + 0.1 * model.weight
    torch.testing.assert_close(ema.model.weight, expected)


@pytest.mark.parametrize(
    ("schedule", "iteration", "expected"),
    [
        ({"name": "step", "step_size": 200000, "gamma": 0.5}, 199999, 1e-4),
        ({"name": "step", "step_size": 200000, "gamma": 0.5}, 200000, 5e-5),
        ({"name": "multistep", "milestones": [10, 20], "gamma": 0.1}, 25, 1e-6),
        ({"name": "cosine", "min_lr": 0.0}, 50, 5e-5),
        ({"name": "cosine", "min_lr": 0.0}, 100, 0.0),
        ({"name": "constant"}, 5, 1e-4),
    ],
)
def test_schedules(schedule, iteration, expected):
    full = {"step_size": 1, "gamma": 1.0, "milestones": [], "min_lr": 0.0, "warmup": 0, **schedule}
    assert LRSchedule(full, 1e-4, 100, 0).lr(iteration, 0.0) == pytest.approx(expected)


def test_cosine_follows_the_time_budget():
    full = {"name": "cosine", "min_lr": 0.0, "warmup": 0}
    schedule = LRSchedule(full, 1e-4, iterations=10**6, minutes=10)
    assert schedule.lr(10, 300.0) == pytest.approx(5e-5)  # half the budget spent
    assert schedule.lr(10, 900.0) == pytest.approx(0.0)


def test_warmup_is_linear():
    full = {"name": "constant", "warmup": 10}
    assert LRSchedule(full, 1e-3, 100, 0).lr(0, 0) == pytest.approx(1e-4)
    assert LRSchedule(full, 1e-3, 100, 0).lr(9, 0) == pytest.approx(1e-3)
    assert not math.isnan(LRSchedule(full, 1e-3, 100, 0).lr(50, 0))


def test_optimizer_follows_the_config():
    model = torch.nn.Linear(2, 2)
    optim = {"name": "adamw", "lr": 3e-4, "betas": [0.8, 0.9], "eps": 1e-7, "weight_decay": 0.01}
    opt = build_optimizer(model, optim)
    assert isinstance(opt, torch.optim.AdamW)
    group = opt.param_groups[0]
    assert group["lr"] == 3e-4 and group["betas"] == (0.8, 0.9) and group["weight_decay"] == 0.01
    assert type(build_optimizer(model, {**optim, "name": "adam"})) is torch.optim.Adam
