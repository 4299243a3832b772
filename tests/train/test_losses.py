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


def test_charbonnier_is_a_smooth_l1():
    a = torch.tensor([0.0, 1.0, 2.0, 0.5])
    b = torch.tensor([1.0, 1.0, 0.0, 0.5])
    # sqrt(d^2 + 1e-6): 1, 0.001, 2, 0.001 -> mean
    assert build_loss("charbonnier")(a, b).item() == pytest.approx((1 + 2 + 0.002) / 4, rel=1e-5)


def test_a_list_of_outputs_sums_the_loss_and_downscales_hr_for_smaller_ones():
    from srpipe.image.resize import imresize

    hr = torch.rand(1, 3, 8, 8)
    half, full = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 8, 8)
    loss = build_loss("l1")([half, full], hr)
    expected = (half - imresize(hr, output_size=(4, 4))).abs().mean() + (full - hr).abs().mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
