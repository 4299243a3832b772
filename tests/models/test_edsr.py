"""EDSR-baseline and EDSR: registration, published parameter counts, shapes, residual scaling."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager


@pytest.mark.parametrize(
    ("name", "scale", "expected_m"),
    [
        ("edsr", 2, 1.370),
        ("edsr", 3, 1.555),
        ("edsr", 4, 1.518),
        ("edsr-large", 2, 40.7),
        ("edsr-large", 3, 43.7),
        ("edsr-large", 4, 43.1),
    ],
)
def test_parameter_counts_match_the_paper(meta_params, name, scale, expected_m):
    count = meta_params(name, scale)
    # within one unit of the last published digit: x3 baseline is 1,554,499, which the
    # protocol table quotes as 1.555M (a half-up rounding of 1.5545M somewhere upstream)
    unit = 10.0 ** -len(str(expected_m).split(".")[1])
    assert abs(count / 1e6 - expected_m) <= unit


def test_alias_and_defaults():
    spec = get_plugin_manager().model("edsr-baseline")
    assert spec.name == "edsr"
    assert spec.defaults["n_resblocks"] == 16 and spec.defaults["n_feats"] == 64
    assert get_plugin_manager().model("edsr-large").defaults["res_scale"] == 0.1
    assert set(spec.scales) == {2, 3, 4, 8}


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape_every_scale(scale):
    model = get_plugin_manager().model("edsr").build(scale=scale, n_resblocks=1, n_feats=8).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 5, 7))
    assert out.shape == (2, 3, 5 * scale, 7 * scale)


def test_x8_is_three_pixel_shuffle_x2_stages():
    model = get_plugin_manager().model("edsr").build(scale=8, n_resblocks=1, n_feats=8)
    shuffles = [m.upscale_factor for m in model.tail[0] if isinstance(m, torch.nn.PixelShuffle)]
    assert shuffles == [2, 2, 2]


def test_mean_shift_is_frozen_and_not_counted():
    model = get_plugin_manager().model("edsr").build(scale=2, n_resblocks=1, n_feats=8)
    assert not model.sub_mean.weight.requires_grad
    # with zero body/tail the network returns the DIV2K mean: sub_mean and add_mean cancel
    for p in [*model.head.parameters(), *model.body.parameters(), *model.tail.parameters()]:
        torch.nn.init.zeros_(p)
    out = model(torch.rand(1, 3, 4, 4))
    mean = torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1)
    assert torch.allclose(out, mean.expand_as(out), atol=1e-6)


def test_residual_scaling_scales_the_block_branch():
    from srpipe.models.blocks import ResBlock

    torch.manual_seed(0)
    block = ResBlock(4, res_scale=0.1)
    x = torch.rand(1, 4, 6, 6)
    with torch.no_grad():
        assert torch.allclose(block(x), x + 0.1 * block.body(x), atol=1e-6)


def test_gradients_reach_every_trainable_parameter():
    model = get_plugin_manager().model("edsr").build(scale=2, n_resblocks=2, n_feats=8)
    model(torch.rand(1, 3, 6, 6)).mean().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
