"""LapSRN: the paper's parameter count, the pyramid's outputs, deep supervision, overfit."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager

TINY = {"n_feats": 8, "depth": 2}


def test_parameter_count_matches_the_paper(meta_params):
    # paper: 812K at x4 (depth 10, 64 features); exact count of the authors' layout
    assert meta_params("lapsrn", 4) == 814_242
    assert abs(meta_params("lapsrn", 4) / 812e3 - 1) < 0.02


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_output_shape_and_one_level_per_factor_of_two(scale):
    model = get_plugin_manager().model("lapsrn").build(scale=scale, **TINY).eval()
    x = torch.rand(1, 3, 5, 7)
    with torch.no_grad():
        levels = model.pyramid(x)
        assert model(x).shape == (1, 3, 5 * scale, 7 * scale)
    assert [level.shape[-2:] for level in levels] == [
        (5 * 2**k, 7 * 2**k) for k in range(1, len(levels) + 1)
    ]
    assert torch.allclose(levels[-1], model(x), atol=1e-6)


def test_x3_is_refused():
    with pytest.raises(ValueError, match="powers of two"):
        get_plugin_manager().model("lapsrn").build(scale=3, **TINY)


def test_image_branch_starts_bilinear():
    """With the residual conv zeroed, each level is the bilinear-kernel upsampling of the
    previous one: the image branch alone (the Laplacian pyramid's base)."""
    model = get_plugin_manager().model("lapsrn").build(scale=2, n_colors=3, **TINY).eval()
    torch.nn.init.zeros_(model.levels[0].residual.weight)
    torch.nn.init.zeros_(model.levels[0].residual.bias)
    x = torch.full((1, 3, 4, 4), 0.5)
    with torch.no_grad():
        out = model(x)
    # a constant image stays constant inside (the border sees the zero padding)
    assert torch.allclose(out[..., 1:-1, 1:-1], torch.full_like(out[..., 1:-1, 1:-1], 0.5))


def test_deep_supervision_returns_every_level_in_training_only():
    model = get_plugin_manager().model("lapsrn").build(scale=4, deep_supervision=True, **TINY)
    x = torch.rand(1, 3, 4, 4)
    outs = model.train()(x)
    assert isinstance(outs, list) and [o.shape[-1] for o in outs] == [8, 16]
    assert model.eval()(x).shape == (1, 3, 16, 16)


def test_fifty_steps_on_one_image_raise_psnr(overfit):
    model = get_plugin_manager().model("lapsrn").build(scale=4, deep_supervision=True, **TINY)
    before, after = overfit(model, 4, loss="charbonnier")
    assert after > before + 1.0, (before, after)
