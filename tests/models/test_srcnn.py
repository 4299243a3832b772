"""SRCNN: the 9-5-5 parameter count and pre-upsampling inside forward."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_57281_parameters_at_every_scale(meta_params, scale):
    assert meta_params("srcnn", scale) == 57_281


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape(scale):
    model = get_plugin_manager().model("srcnn").build(scale=scale, n1=8, n2=4).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 6)).shape == (1, 3, 5 * scale, 6 * scale)


def test_network_sees_the_bicubic_upscaled_y():
    model = get_plugin_manager().model("srcnn").build(scale=3).eval()
    seen = {}
    model.conv1.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    with torch.no_grad():
        model(torch.rand(1, 3, 4, 5))
    assert seen["x"].shape == (1, 1, 12, 15)


def test_rgb_variant():
    model = get_plugin_manager().model("srcnn").build(scale=2, n_colors=3, n1=8, n2=4)
    assert model.conv1.in_channels == 3
    assert model(torch.rand(1, 3, 4, 4)).shape == (1, 3, 8, 8)
