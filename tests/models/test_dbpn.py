"""D-DBPN: parameter count, dense projection units, shapes, overfit."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager

TINY = {"n_stages": 3, "base_filter": 8, "feat": 16}


def test_parameter_count_matches_the_paper(meta_params):
    # paper: 10.4M at x4 (7 stages, 64/256 features, 8x8 projections)
    assert meta_params("dbpn", 4) == 10_426_358
    assert abs(meta_params("dbpn", 4) / 10.4e6 - 1) < 0.02


def test_dense_units_fuse_all_earlier_outputs():
    model = get_plugin_manager().model("dbpn").build(scale=4, n_stages=5, base_filter=8, feat=8)
    # down_i and up_{i+1} take i earlier maps of 8 channels through their 1x1 conv
    assert model.down4.conv.conv.in_channels == 4 * 8
    assert model.up5.conv.conv.in_channels == 4 * 8
    assert not hasattr(model.up2, "conv") and model.output_conv.conv.in_channels == 5 * 8


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape(scale):
    model = get_plugin_manager().model("dbpn").build(scale=scale, **TINY).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 7)).shape == (1, 3, 5 * scale, 7 * scale)


def test_fifty_steps_on_one_image_raise_psnr(overfit):
    model = get_plugin_manager().model("dbpn").build(scale=2, **TINY)
    before, after = overfit(model, 2)
    assert after > before + 1.0, (before, after)
