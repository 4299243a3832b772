"""RDN: parameter counts, dense connections, EDSR-PyTorch module names."""

from __future__ import annotations

import pytest
import torch

from srpipe.plugins import get_plugin_manager

TINY = {"G0": 8, "D": 2, "C": 3, "G": 4}


@pytest.mark.parametrize(("scale", "expected_m"), [(2, 22.1), (3, 22.3), (4, 22.3)])
def test_parameter_counts_match_the_paper(meta_params, scale, expected_m):
    assert round(meta_params("rdn", scale) / 1e6, 1) == expected_m


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_shape(scale):
    model = get_plugin_manager().model("rdn").build(scale=scale, **TINY).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 4, 5)).shape == (1, 3, 4 * scale, 5 * scale)


def test_dense_layers_grow_by_g():
    model = get_plugin_manager().model("rdn").build(scale=2, **TINY)
    widths = [layer.conv[0].in_channels for layer in model.RDBs[0].convs]
    assert widths == [8, 12, 16]
    assert model.RDBs[0].LFF.in_channels == 8 + 3 * 4


def test_rdn_state_dict_round_trips_through_detection(tmp_path):
    from srpipe.models.checkpoint import load_checkpoint

    model = get_plugin_manager().model("rdn").build(scale=4, **TINY).eval()
    assert "RDBs.1.convs.2.conv.0.weight" in model.state_dict()
    torch.save(model.state_dict(), tmp_path / "RDN_x4.pt")
    loaded, meta = load_checkpoint(tmp_path / "RDN_x4.pt", scale=4)
    assert meta["arch"] == "rdn" and {k: meta["hyper"][k] for k in TINY} == TINY
    x = torch.rand(1, 3, 4, 4)
    with torch.no_grad():
        assert torch.allclose(model(x), loaded(x), atol=1e-5)
