"""State-dict auto-detection: ``--sr any.pth`` finds the architecture, scale and sizes.

Each case builds a small network with non-default sizes, saves its plain state dict as
``torch.save`` would (no srpipe metadata), loads it back through ``load_checkpoint`` and
checks the detected architecture, scale and hyper-parameters, and that the outputs match.
"""

from __future__ import annotations

import pytest
import torch

from srpipe.errors import SrpipeError
from srpipe.models.checkpoint import load_checkpoint
from srpipe.plugins import get_plugin_manager

# (registry name, scale, sizes, scale readable from the weights)
CASES = [
    ("srcnn", 3, {"n1": 16, "n2": 8, "f1": 5}, False),
    ("espcn", 3, {"n1": 8, "n2": 4}, True),
    ("fsrcnn", 2, {"d": 8, "s": 4, "m": 2}, False),
    ("vdsr", 2, {"depth": 4, "n_feats": 8}, False),
    ("edsr", 4, {"n_resblocks": 2, "n_feats": 16}, True),
    ("rcan", 2, {"n_resgroups": 2, "n_resblocks": 1, "n_feats": 16, "reduction": 4}, True),
    ("han", 2, {"n_resgroups": 2, "n_resblocks": 1, "n_feats": 16, "reduction": 4}, True),
    ("rdn", 3, {"G0": 8, "D": 2, "C": 2, "G": 4}, True),
    ("pan", 4, {"n_feats": 8, "n_up_feats": 4, "n_blocks": 2}, True),
    ("lapsrn", 8, {"n_feats": 8, "depth": 2}, True),
    ("drrn", 3, {"n_blocks": 2, "n_units": 25, "n_feats": 8}, False),
    ("memnet", 2, {"n_feats": 8, "n_memory_blocks": 2, "n_recursions": 3}, False),
    ("dbpn", 3, {"n_stages": 3, "base_filter": 8, "feat": 16}, True),
    ("srfbn", 4, {"n_feats": 8, "n_steps": 4, "n_groups": 2}, True),
    ("san", 2, {"n_resgroups": 2, "n_resblocks": 2, "n_feats": 16, "reduction": 4}, True),
]


@pytest.mark.parametrize(
    ("name", "scale", "sizes", "scale_in_weights"), CASES, ids=[c[0] for c in CASES]
)
def test_plain_state_dict_is_recognised(tmp_path, name, scale, sizes, scale_in_weights):
    torch.manual_seed(0)
    model = get_plugin_manager().model(name).build(scale=scale, **sizes).eval()
    path = tmp_path / f"{name}.pth"
    torch.save(model.state_dict(), path)
    loaded, meta = load_checkpoint(path, scale=scale)
    assert meta["arch"] == name and meta["scale"] == scale
    assert {k: meta["hyper"][k] for k in sizes} == sizes
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-5)
    if scale_in_weights:  # a wrong --scale is refused with what the file holds
        with pytest.raises(SrpipeError, match=f"x{scale} {name}"):
            load_checkpoint(path, scale=scale + 1 if scale != 8 else 2)
    else:
        with pytest.raises(SrpipeError, match="--scale"):
            load_checkpoint(path)


def test_official_san_keys_of_unused_modules_are_dropped(tmp_path):
    """The official SAN saves three modules it never runs; they are dropped on import."""
    sizes = {"n_resgroups": 2, "n_resblocks": 1, "n_feats": 16, "reduction": 4}
    model = get_plugin_manager().model("san").build(scale=2, **sizes).eval()
    state = dict(model.state_dict())
    state["conv_last.weight"] = torch.zeros(16, 16, 3, 3)
    state["conv_last.bias"] = torch.zeros(16)
    state["RG.0.gamma"] = state["RG.1.gamma"] = torch.zeros(1)
    state["non_local.soca.conv_du.0.weight"] = torch.zeros(2, 16, 1, 1)
    torch.save({"state_dict": state}, tmp_path / "san.pt")
    _, meta = load_checkpoint(tmp_path / "san.pt", scale=2)
    assert (meta["arch"], meta["source"], meta["hyper"]["n_resgroups"]) == ("san", "san", 2)


def test_unknown_state_dict_lists_what_is_supported(tmp_path):
    torch.save({"encoder.weight": torch.zeros(3, 3)}, tmp_path / "mystery.pth")
    with pytest.raises(SrpipeError) as info:
        load_checkpoint(tmp_path / "mystery.pth", scale=4)
    message = str(info.value)
    assert "\n" not in message
    for name in ("D-DBPN", "SRFBN", "SAN", "LapSRN", "DRRN", "MemNet", "VDSR", "RDN", "HAN"):
        assert name in message
