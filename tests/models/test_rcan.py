"""RCAN: published parameter counts, channel attention, residual groups, shapes."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager


@pytest.mark.parametrize(("scale", "expected_m"), [(2, 15.4), (3, 15.6), (4, 15.6)])
def test_parameter_counts_match_the_paper(meta_params, scale, expected_m):
    assert round(meta_params("rcan", scale) / 1e6, 1) == expected_m


def test_paper_defaults():
    defaults = get_plugin_manager().model("rcan").defaults
    assert (defaults["n_resgroups"], defaults["n_resblocks"], defaults["n_feats"]) == (10, 20, 64)
    assert defaults["reduction"] == 16


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape_every_scale(scale):
    model = (
        get_plugin_manager()
        .model("rcan")
        .build(scale=scale, n_resgroups=1, n_resblocks=1, n_feats=8, reduction=4)
    )
    with torch.no_grad():
        assert model(torch.rand(1, 3, 4, 6)).shape == (1, 3, 4 * scale, 6 * scale)


def test_channel_attention_gates_each_channel_by_its_mean():
    from srpipe.models.blocks import ChannelAttention

    torch.manual_seed(0)
    attention = ChannelAttention(8, reduction=4)
    x = torch.rand(2, 8, 5, 5)
    with torch.no_grad():
        out = attention(x)
        gate = out / x
    # one gate per (sample, channel), constant over space, in (0, 1)
    assert torch.allclose(gate, gate[..., :1, :1].expand_as(gate), atol=1e-5)
    assert bool(((gate > 0) & (gate < 1)).all())


def test_residual_group_structure():
    model = (
        get_plugin_manager()
        .model("rcan")
        .build(scale=2, n_resgroups=3, n_resblocks=2, n_feats=8, reduction=4)
    )
    # 3 groups + the trailing conv; each group: 2 RCABs + its conv
    assert len(model.body) == 4 and len(model.body[0].body) == 3


def test_gradients_reach_every_trainable_parameter():
    model = (
        get_plugin_manager()
        .model("rcan")
        .build(scale=2, n_resgroups=2, n_resblocks=2, n_feats=8, reduction=4)
    )
    model(torch.rand(2, 3, 6, 6)).abs().mean().backward()
    # not None = connected to the loss (a tiny squeeze layer can be ReLU-dead, so
    # individual gradients may be exactly zero at a random init)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
