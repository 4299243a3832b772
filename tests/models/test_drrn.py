"""DRRN: parameter count, shared weights across the recursion, shapes, overfit."""

from __future__ import annotations

import pytest
import torch

from srpipe.models.networks import count_parameters
from srpipe.plugins import get_plugin_manager

TINY = {"n_units": 3, "n_feats": 8}


def test_parameter_count_matches_the_paper(meta_params):
    # paper: 297K for B1U25 at every scale
    assert meta_params("drrn", 2) == meta_params("drrn", 4) == 297_601
    assert abs(meta_params("drrn", 4) / 297e3 - 1) < 0.02


def test_units_share_weights():
    """More recursions add depth, not parameters (the point of a recursive block)."""
    spec = get_plugin_manager().model("drrn")
    assert count_parameters(spec.build(scale=2, n_units=3, n_feats=8)) == count_parameters(
        spec.build(scale=2, n_units=9, n_feats=8)
    )


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape(scale):
    model = get_plugin_manager().model("drrn").build(scale=scale, **TINY).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 7)).shape == (1, 3, 5 * scale, 7 * scale)


def test_fifty_steps_on_one_image_raise_psnr(overfit):
    model = get_plugin_manager().model("drrn").build(scale=2, **TINY)
    before, after = overfit(model, 2, loss="l2")
    assert after > before + 0.5, (before, after)
