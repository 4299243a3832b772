"""FSRCNN: transposed-convolution upsampling and the FSRCNN(56,12,4) parameter count."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_paper_parameter_count(scale):
    model = get_plugin_manager().model("fsrcnn").build(scale=scale)
    convs = sum(
        p.numel()
        for m in model.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
        for p in m.parameters()
    )
    prelu = sum(
        p.numel() for m in model.modules() if isinstance(m, torch.nn.PReLU) for p in m.parameters()
    )
    assert convs == 12_637  # what the paper counts
    assert prelu == 56 + 12 + 4 * 12 + 56  # one slope per channel, outside the paper's count


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_upsampling_is_one_transposed_conv_with_stride_scale(scale):
    model = get_plugin_manager().model("fsrcnn").build(scale=scale).eval()
    assert isinstance(model.deconv, torch.nn.ConvTranspose2d)
    assert model.deconv.stride == (scale, scale)
    with torch.no_grad():
        assert model(torch.rand(2, 3, 7, 5)).shape == (2, 3, 7 * scale, 5 * scale)


def test_network_runs_on_lr_y():
    model = get_plugin_manager().model("fsrcnn").build(scale=4).eval()
    seen = {}
    model.feature.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    with torch.no_grad():
        model(torch.rand(1, 3, 6, 6))
    assert seen["x"].shape == (1, 1, 6, 6)
