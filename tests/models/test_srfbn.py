"""SRFBN: parameter count, the unrolled feedback steps, shapes, multi-step overfit."""

from __future__ import annotations

import pytest
import torch

from srpipe.models.networks import count_parameters
from srpipe.plugins import get_plugin_manager

TINY = {"n_feats": 8, "n_steps": 3, "n_groups": 2}


def test_parameter_count_matches_the_paper(meta_params):
    # paper: 3,631K at x4 (T=4, G=6, 64 features)
    assert meta_params("srfbn", 4) == 3_631_454
    assert abs(meta_params("srfbn", 4) / 3.631e6 - 1) < 0.02


def test_steps_share_weights_and_feedback_changes_the_output():
    spec = get_plugin_manager().model("srfbn")
    one = spec.build(scale=2, n_feats=8, n_steps=1, n_groups=2)
    three = spec.build(scale=2, n_feats=8, n_steps=3, n_groups=2)
    assert count_parameters(one) == count_parameters(three)
    three.load_state_dict(one.state_dict())
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        steps = three.eval().steps(x)
        # step 1 of the 3-step net is the 1-step net; later steps see their own feedback
        assert torch.allclose(steps[0], one.eval()(x), atol=1e-6)
        assert not torch.allclose(steps[0], steps[-1])


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape(scale):
    model = get_plugin_manager().model("srfbn").build(scale=scale, **TINY).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 7)).shape == (1, 3, 5 * scale, 7 * scale)


def test_deep_supervision_returns_every_step_in_training_only():
    model = get_plugin_manager().model("srfbn").build(scale=2, deep_supervision=True, **TINY)
    x = torch.rand(1, 3, 4, 4)
    assert len(model.train()(x)) == 3
    assert model.eval()(x).shape == (1, 3, 8, 8)


def test_fifty_steps_on_one_image_raise_psnr(overfit):
    # rgb_range 1: at the paper's 255 the tiny net's residual moves 255 times slower per
    # Adam step than its [0, 1] output needs, and 50 steps barely change it (+0.01 dB)
    model = (
        get_plugin_manager()
        .model("srfbn")
        .build(scale=2, deep_supervision=True, rgb_range=1.0, **TINY)
    )
    before, after = overfit(model, 2)
    assert after > before + 1.0, (before, after)
