"""L1 (MAE) and L2 (MSE) losses by name."""

from __future__ import annotations

import pytest
import torch

from srpipe.errors import SrpipeError
from srpipe.train.losses import build_loss


@pytest.mark.parametrize(
    ("name", "expected"), [("l1", 0.75), ("mae", 0.75), ("l2", 1.25), ("mse", 1.25)]
)
def test_losses(name, expected):
    a = torch.tensor([0.0, 1.0, 2.0, 0.5])
    b = torch.tensor([1.0, 1.0, 0.0, 0.5])  # differences 1, 0, 2, 0
    assert build_loss(name)(a, b).item() == pytest.approx(expected)


def test_unknown_loss():
    with pytest.raises(SrpipeError, match="unknown loss"):
        build_loss("huber")
