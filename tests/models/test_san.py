"""SAN: parameter count, Newton-Schulz square root, second-order attention, shapes, overfit."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager

TINY = {"n_resgroups": 2, "n_resblocks": 1, "n_feats": 16, "reduction": 4}


def test_parameter_count_matches_the_paper(meta_params):
    # paper: 15.7M (20 groups x 10 blocks, 64 features); counted on the meta device
    assert meta_params("san", 4) == 15_822_444
    assert abs(meta_params("san", 4) / 15.7e6 - 1) < 0.02


def test_newton_schulz_square_root_of_a_covariance():
    from srpipe.models.networks.san import covariance, sqrtm_newton_schulz

    x = torch.rand(2, 6, 7, 5, dtype=torch.float64)
    cov = covariance(x)
    flat = x.flatten(2)
    expected = torch.stack([torch.cov(f, correction=0) for f in flat])
    assert torch.allclose(cov, expected)
    root = sqrtm_newton_schulz(cov, iterations=30)
    assert torch.allclose(root @ root, cov, atol=1e-8)
    # the model's 5 iterations are an approximation: close to the eigen-decomposition root
    vals, vecs = torch.linalg.eigh(cov)
    exact = vecs @ torch.diag_embed(vals.clamp(min=0).sqrt()) @ vecs.transpose(1, 2)
    five = sqrtm_newton_schulz(cov, iterations=5)
    assert (five - exact).norm() / exact.norm() < 0.5


def test_second_order_attention_gates_channels_by_covariance_not_mean():
    """With an identity MLP, the gate is sigmoid(mean over rows of sqrt(covariance)): two
    inputs with equal channel means but different spreads get different gates."""
    from srpipe.models.networks.san import SOCA, covariance, sqrtm_newton_schulz

    soca = SOCA(4, reduction=1).eval()
    with torch.no_grad():
        for conv in (soca.conv_du[0], soca.conv_du[2]):
            conv.weight.copy_(torch.eye(4).view(4, 4, 1, 1))
            conv.bias.zero_()
    torch.manual_seed(0)
    a = torch.rand(1, 4, 6, 6)
    mean = a.mean(dim=(2, 3), keepdim=True)
    b = mean + (a - mean) * 3  # same channel means, three times the spread
    with torch.no_grad():
        gate_a, gate_b = soca(a) / a, soca(b) / b
        expected_a = torch.sigmoid(sqrtm_newton_schulz(covariance(a)).mean(dim=1).clamp(min=0))
    assert torch.allclose(gate_a[..., 0, 0], expected_a, atol=1e-5)
    assert not torch.allclose(gate_a[..., 0, 0], gate_b[..., 0, 0], atol=1e-3)


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape(scale):
    model = get_plugin_manager().model("san").build(scale=scale, **TINY).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 7)).shape == (1, 3, 5 * scale, 7 * scale)


def test_fifty_steps_on_one_image_raise_psnr(overfit):
    model = get_plugin_manager().model("san").build(scale=2, **TINY)
    before, after = overfit(model, 2)
    assert after > before + 1.0, (before, after)
