"""VDSR: depth, parameter count, and the global residual over bicubic."""

from __future__ import annotations

import pytest
import torch

from srpipe.image.resize import imresize
from srpipe.plugins import get_plugin_manager


@pytest.mark.parametrize("scale", [2, 4])
def test_parameter_count(meta_params, scale):
    assert meta_params("vdsr", scale) == 665_921


def test_twenty_conv_layers():
    model = get_plugin_manager().model("vdsr").build(scale=2)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == 20


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_zero_residual_gives_exactly_bicubic(scale):
    """With the last conv zeroed, Y is bicubic and chroma is bicubic: the RGB bicubic image."""
    model = get_plugin_manager().model("vdsr").build(scale=scale, depth=3, n_feats=8).eval()
    torch.nn.init.zeros_(model.body[-1].weight)
    torch.nn.init.zeros_(model.body[-1].bias)
    x = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(x)
    assert torch.allclose(out, imresize(x, scale), atol=1e-5)
