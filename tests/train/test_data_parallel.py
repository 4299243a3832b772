"""Data-parallel training's single-process face (two ranks: test_distributed, test_task_driven)."""

from __future__ import annotations

import torch

from srpipe.distributed import Workers
from srpipe.train.data_parallel import average_gradients, training_device, wrap


def test_one_process_trains_on_the_device_asked_for_unwrapped():
    ranks = Workers()
    device = training_device(ranks, "cpu")
    assert device == torch.device("cpu")
    model = torch.nn.Linear(2, 2)
    assert wrap(model, ranks, device) is model


def test_one_process_keeps_its_gradients():
    param = torch.nn.Parameter(torch.zeros(2))
    param.grad = torch.ones(2)
    average_gradients(Workers(), [param], torch.device("cpu"))
    assert torch.equal(param.grad, torch.ones(2))
