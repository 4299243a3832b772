"""HAN: parameter counts, layer attention, channel-spatial attention, official key names."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager

TINY = {"n_resgroups": 2, "n_resblocks": 2, "n_feats": 16, "reduction": 4}


@pytest.mark.parametrize(("scale", "expected_m"), [(2, 15.9), (3, 16.1), (4, 16.1)])
def test_parameter_counts(meta_params, scale, expected_m):
    assert round(meta_params("han", scale) / 1e6, 1) == expected_m


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape(scale):
    model = get_plugin_manager().model("han").build(scale=scale, **TINY).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 4, 5)).shape == (1, 3, 4 * scale, 5 * scale)


def test_layer_attention_is_identity_at_zero_gamma_and_mixes_layers_otherwise():
    from srpipe.models.networks.han import LayerAttention

    attention = LayerAttention()
    x = torch.rand(2, 3, 4, 5, 5)
    assert torch.equal(attention(x), x.reshape(2, 12, 5, 5))
    with torch.no_grad():
        attention.gamma.fill_(1.0)
    out = attention(x).reshape(2, 3, 4, 5, 5) - x
    # the added term of layer 0 is a convex mix of all layers: it lies within their range
    assert bool((out[:, 0] <= x.amax(dim=1) + 1e-6).all())
    assert bool((out[:, 0] >= x.amin(dim=1) - 1e-6).all())


def test_channel_spatial_attention_gates_per_channel_and_pixel():
    from srpipe.models.networks.han import ChannelSpatialAttention

    torch.manual_seed(0)
    attention = ChannelSpatialAttention()
    with torch.no_grad():
        attention.gamma.fill_(1.0)
    x = torch.rand(1, 4, 6, 6) + 0.1
    gate = attention(x) / x - 1
    assert bool(((gate > 0) & (gate < 1)).all()) and gate.std() > 0


def test_official_key_names_are_detected_as_han(tmp_path):
    from srpipe.models.checkpoint import load_checkpoint

    model = get_plugin_manager().model("han").build(scale=2, **TINY).eval()
    with torch.no_grad():
        model.la.gamma.fill_(0.3)
        model.csa.gamma.fill_(0.6)
    state = model.state_dict()
    assert {"la.gamma", "csa.conv.weight", "last_conv.weight", "last.bias"} <= set(state)
    torch.save(state, tmp_path / "HAN_BIX2.pt")
    loaded, meta = load_checkpoint(tmp_path / "HAN_BIX2.pt", scale=2)
    assert meta["arch"] == "han" and meta["hyper"]["n_resgroups"] == 2
    x = torch.rand(1, 3, 5, 5)
    with torch.no_grad():
        assert torch.allclose(model(x), loaded(x), atol=1e-6)


def test_channels_last_layout_skips_the_conv3d_and_keeps_the_output():
    """`module.to(memory_format=channels_last)` raises on HAN's 5-D Conv3d weight; the
    layout helper converts the 4-D tensors only (the default of `upscale` and `train`)."""
    from srpipe.models.layout import to_channels_last

    torch.manual_seed(0)
    model = get_plugin_manager().model("han").build(scale=2, **TINY).eval()
    with pytest.raises(RuntimeError):
        copy_of = get_plugin_manager().model("han").build(scale=2, **TINY)
        copy_of.to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, 6, 7)
    with torch.no_grad():
        plain = model(x)
        to_channels_last(model)
        converted = model(x.contiguous(memory_format=torch.channels_last))
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(plain, converted, atol=1e-5)
