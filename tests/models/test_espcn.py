"""ESPCN: sub-pixel convolution and the 21-25K parameter range."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager


@pytest.mark.parametrize(("scale", "expected"), [(2, 21_284), (3, 22_729), (4, 24_752)])
def test_parameter_count(meta_params, scale, expected):
    count = meta_params("espcn", scale)
    assert count == expected and 21_000 <= count <= 25_000


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_pixel_shuffle_output(scale):
    model = get_plugin_manager().model("espcn").build(scale=scale).eval()
    assert model.shuffle.upscale_factor == scale
    assert model.conv3.out_channels == scale * scale
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 4)).shape == (1, 3, 5 * scale, 4 * scale)
