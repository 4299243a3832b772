"""PAN: pixel attention, parameter counts, upsampling stages."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager


@pytest.mark.parametrize(("scale", "expected_k"), [(2, 261), (4, 272)])
def test_parameter_counts_match_the_paper(meta_params, scale, expected_k):
    assert round(meta_params("pan", scale) / 1e3) == expected_k


@pytest.mark.parametrize(("scale", "stages"), [(2, [2]), (3, [3]), (4, [2, 2]), (8, [2, 2, 2])])
def test_output_shape_and_stages(scale, stages):
    model = (
        get_plugin_manager()
        .model("pan")
        .build(scale=scale, n_feats=8, n_up_feats=4, n_blocks=1)
        .eval()
    )
    assert model.stages == stages
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 4)).shape == (1, 3, 5 * scale, 4 * scale)


def test_pixel_attention_gates_every_pixel_separately():
    from srpipe.models.blocks import PixelAttention

    torch.manual_seed(0)
    attention = PixelAttention(4)
    x = torch.rand(1, 4, 6, 6) + 0.1
    with torch.no_grad():
        gate = attention(x) / x
    assert gate.shape == x.shape
    assert bool(((gate > 0) & (gate < 1)).all())
    assert gate[0, 0].std() > 0  # varies over space, unlike channel attention


def test_zero_tail_returns_bilinear_base():
    model = (
        get_plugin_manager().model("pan").build(scale=2, n_feats=8, n_up_feats=4, n_blocks=1).eval()
    )
    torch.nn.init.zeros_(model.tail.weight)
    torch.nn.init.zeros_(model.tail.bias)
    x = torch.rand(1, 3, 4, 4)
    with torch.no_grad():
        expected = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")
        assert torch.allclose(model(x), expected, atol=1e-6)
