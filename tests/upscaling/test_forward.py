"""The one SR forward: what the Upscaler and training's validation both run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from srpipe.errors import SrpipeError
from srpipe.upscaling.forward import (
    autocast,
    images_to_tensor,
    network_forward,
    quantiser,
    self_ensemble,
    super_resolve,
)
from srpipe.upscaling.upscaler import Upscaler


class Halves(nn.Module):
    """x2 nearest upscaling, every output value exactly halfway between two uint8 levels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        return (torch.round(up * 255) + 0.5) / 255


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (6, 7, 3), dtype=np.uint8)


def test_halves_round_up_and_the_upscaler_gives_the_same_pixels(image):
    out = super_resolve(Halves(), [image], scale=2, device="cpu")[0]
    nearest = image.repeat(2, axis=0).repeat(2, axis=1).astype(np.int32)
    assert out.dtype == np.uint8
    assert np.array_equal(out, np.minimum(nearest + 1, 255))
    assert np.array_equal(out, Upscaler.from_module(Halves(), 2, device="cpu")(image))


def test_quantiser_clamps_rounds_half_up_and_keeps_floats():
    y = np.array([[[-0.1, 0.5 / 255, 1.5 / 255]], [[2.5 / 255, 1.2, 0.25]]], np.float32)
    assert quantiser(np.uint8)(y.copy()).ravel().tolist() == [0, 1, 2, 3, 255, 64]
    assert quantiser(np.uint16)(np.array([0.5], np.float32)).tolist() == [32768]
    floats = quantiser(np.float32)(y.copy())
    assert floats.dtype == np.float32 and floats.min() == 0.0 and floats.max() == 1.0


def test_images_to_tensor_reads_uint8_and_float(image):
    x = images_to_tensor([image, image])
    assert x.shape == (2, 3, 6, 7) and x.dtype == torch.float32
    assert x[0, 1, 2, 3].item() == pytest.approx(image[2, 3, 1] / 255.0)
    same = images_to_tensor([image.astype(np.float32) / 255.0])
    torch.testing.assert_close(same[0], x[0])


def test_a_wrong_scale_is_one_line(image):
    with pytest.raises(SrpipeError, match="x4 model"):
        network_forward(Halves(), images_to_tensor([image]), scale=4, device="cpu", name="halves")


def test_self_ensemble_of_an_equivariant_network_is_the_network(image):
    x = images_to_tensor([image])
    torch.testing.assert_close(self_ensemble(Halves(), x), Halves()(x))


def test_autocast_is_nothing_in_fp32_and_bf16_below():
    with autocast("fp32", "cpu"):
        assert not torch.is_autocast_enabled("cpu")
    with autocast("bf16", "cpu"):
        assert torch.is_autocast_enabled("cpu")
