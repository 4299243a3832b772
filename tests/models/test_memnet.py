"""MemNet: parameter count, shared recursions, per-block predictions, shapes, overfit."""

from __future__ import annotations

import pytest
import torch

from srpipe.models.networks import count_parameters
from srpipe.plugins import get_plugin_manager

TINY = {"n_feats": 8, "n_memory_blocks": 2, "n_recursions": 2}


def test_parameter_count_matches_the_paper(meta_params):
    # paper: 677K for M6R6 at every scale
    assert meta_params("memnet", 3) == 678_215
    assert abs(meta_params("memnet", 3) / 677e3 - 1) < 0.02


def test_recursions_share_weights_gates_grow_with_memory():
    spec = get_plugin_manager().model("memnet")
    two = count_parameters(spec.build(scale=2, n_feats=8, n_memory_blocks=2, n_recursions=2))
    four = count_parameters(spec.build(scale=2, n_feats=8, n_memory_blocks=2, n_recursions=4))
    # only the gates' 1x1 convs see more short-term memory: 2 more maps of 8 channels,
    # into 8 outputs, in each of the 2 blocks
    assert four - two == 2 * (2 * 8 * 8)


def test_output_is_the_weighted_sum_of_block_predictions():
    model = get_plugin_manager().model("memnet").build(scale=2, n_colors=3, **TINY).eval()
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        from srpipe.models.networks.luma import bicubic_upscale

        up = bicubic_upscale(x, 2)
        preds = model.predictions(up)
        expected = sum(w * p for w, p in zip(model.weights, preds, strict=True))
        assert torch.allclose(model(x), expected, atol=1e-6)


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape(scale):
    model = get_plugin_manager().model("memnet").build(scale=scale, **TINY).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 7)).shape == (1, 3, 5 * scale, 7 * scale)


def test_fifty_steps_on_one_image_raise_psnr(overfit):
    model = get_plugin_manager().model("memnet").build(scale=2, **TINY)
    before, after = overfit(model, 2, loss="l2")
    assert after > before + 0.5, (before, after)
