"""Checkpoints: our safetensors format, safe loading, official key layouts, load_model."""

from __future__ import annotations

import json
import re

import pytest
import torch

from srpipe.errors import SrpipeError
from srpipe.models.checkpoint import (
    load_checkpoint,
    load_model,
    read_checkpoint_metadata,
    save_checkpoint,
)
from srpipe.plugins import get_plugin_manager

TINY_EDSR = {"n_resblocks": 2, "n_feats": 8, "res_scale": 1.0, "rgb_range": 255.0}
TINY_RCAN = {"n_resgroups": 2, "n_resblocks": 3, "n_feats": 16, "reduction": 4, "rgb_range": 255.0}


def _tiny(name: str, scale: int, hyper: dict) -> torch.nn.Module:
    torch.manual_seed(scale)
    model = get_plugin_manager().model(name).build(scale=scale, **hyper).eval()
    with torch.no_grad():  # non-zero biases so a mis-mapped bias would show
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d) and module.weight.requires_grad:
                module.bias.uniform_(-0.1, 0.1)
    return model


def _same_output(a: torch.nn.Module, b: torch.nn.Module, scale: int) -> float:
    x = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return (a(x) - b(x)).abs().max().item()


def test_roundtrip_keeps_weights_and_metadata(tmp_path):
    model = _tiny("edsr", 2, TINY_EDSR)
    path = save_checkpoint(
        model,
        tmp_path / "edsr_x2.safetensors",
        arch="edsr",
        scale=2,
        hyper=TINY_EDSR,
        meta={"training_data": "synthetic", "val_psnr": 31.25},
    )
    meta = read_checkpoint_metadata(path)
    assert meta["arch"] == "edsr" and meta["scale"] == 2 and meta["hyper"] == TINY_EDSR
    assert meta["val_psnr"] == 31.25 and meta["training_data"] == "synthetic"
    assert "srpipe_version" in meta
    loaded, info = load_checkpoint(path, scale=2)
    assert _same_output(model, loaded, 2) == 0.0
    assert info["source"] == "srpipe" and len(info["sha256"]) == 64
    assert not list(tmp_path.glob("*.tmp")), "atomic save must leave no temp file"


def test_header_values_are_json_strings(tmp_path):
    path = save_checkpoint(
        _tiny("edsr", 2, TINY_EDSR),
        tmp_path / "m.safetensors",
        arch="edsr",
        scale=2,
        hyper=TINY_EDSR,
    )
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        raw = handle.metadata()
    assert json.loads(raw["hyper"]) == TINY_EDSR and raw["arch"] == '"edsr"'


def test_fp16_storage_halves_file_and_loads_as_fp32(tmp_path):
    model = _tiny("edsr", 2, TINY_EDSR)
    full = save_checkpoint(model, tmp_path / "a.safetensors", arch="edsr", scale=2, hyper=TINY_EDSR)
    half = save_checkpoint(
        model, tmp_path / "b.safetensors", arch="edsr", scale=2, hyper=TINY_EDSR, dtype="fp16"
    )
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, _ = load_checkpoint(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert _same_output(model, loaded, 2) < 1e-2


def test_wrong_scale_and_wrong_arch_are_one_line_errors(tmp_path):
    path = save_checkpoint(
        _tiny("edsr", 2, TINY_EDSR),
        tmp_path / "m.safetensors",
        arch="edsr",
        scale=2,
        hyper=TINY_EDSR,
    )
    with pytest.raises(SrpipeError, match=r"x2 edsr checkpoint, not x4") as err:
        load_checkpoint(path, scale=4)
    assert "\n" not in str(err.value)
    with pytest.raises(SrpipeError, match="not rcan"):
        load_checkpoint(path, arch="rcan")
    load_checkpoint(path, arch="edsr-baseline")  # an alias of the same network is fine


def test_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    torch.save({"params": {"conv.weight": torch.zeros(1)}, "x": Exploit()}, path)
    with pytest.raises(SrpipeError, match="refusing to load") as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04 truncated zip"])
def test_garbage_files_are_one_line_errors(tmp_path, content):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(SrpipeError) as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)


def test_truncated_safetensors_is_an_error(tmp_path):
    path = save_checkpoint(
        _tiny("edsr", 2, TINY_EDSR),
        tmp_path / "m.safetensors",
        arch="edsr",
        scale=2,
        hyper=TINY_EDSR,
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(SrpipeError, match="corrupt"):
        load_checkpoint(path)


def test_missing_file():
    with pytest.raises(SrpipeError, match="not found"):
        load_checkpoint("/nonexistent/edsr.pt")


# --- official layouts: state dicts written with the official projects' key names -------


def test_edsr_pytorch_state_dict_is_recognised(tmp_path):
    """EDSR-PyTorch's key names are ours (sub_mean, head.0, body.N.body.0, tail.0.0...)."""
    model = _tiny("edsr", 4, TINY_EDSR)
    state = model.state_dict()
    assert {
        "sub_mean.weight",
        "head.0.weight",
        "body.0.body.2.bias",
        "tail.0.2.weight",
        "tail.1.weight",
        "add_mean.bias",
    } <= set(state)
    torch.save(state, tmp_path / "edsr_baseline_x4-6b446fab.pt")
    loaded, meta = load_checkpoint(tmp_path / "edsr_baseline_x4-6b446fab.pt")
    assert (meta["arch"], meta["scale"], meta["source"]) == ("edsr", 4, "edsr-pytorch")
    assert meta["hyper"]["n_resblocks"] == 2 and meta["hyper"]["n_feats"] == 8
    assert meta["hyper"]["rgb_range"] == 255.0
    assert _same_output(model, loaded, 4) < 1e-5


def test_edsr_res_scale_defaults_by_width(tmp_path):
    from srpipe.models.official import detect_checkpoint

    with torch.device("meta"):
        wide = get_plugin_manager().model("edsr-large").build(scale=2, n_resblocks=1)
    # meta tensors hold no values: leave out the MeanShift (rgb_range then defaults to 255)
    state = {k: v for k, v in wide.state_dict().items() if "mean" not in k}
    detected = detect_checkpoint(state)
    assert detected.hyper["n_feats"] == 256 and detected.hyper["res_scale"] == 0.1


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_rcan_official_state_dict_every_scale(tmp_path, scale):
    model = _tiny("rcan", scale, TINY_RCAN)
    assert "body.0.body.0.body.3.conv_du.0.weight" in model.state_dict()
    path = tmp_path / f"RCAN_BIX{scale}.pt"
    torch.save(model.state_dict(), path)
    loaded, meta = load_checkpoint(path, scale=scale)
    assert (meta["arch"], meta["scale"], meta["source"]) == ("rcan", scale, "rcan")
    assert {k: meta["hyper"][k] for k in TINY_RCAN} == TINY_RCAN
    assert _same_output(model, loaded, scale) < 1e-5


def _to_basicsr_edsr(state: dict, n_resblocks: int) -> dict:
    out = {}
    for key, value in state.items():
        if key.startswith(("sub_mean", "add_mean")):
            continue  # BasicSR keeps the mean as a plain attribute, not in the state dict
        key = re.sub(r"^head\.0\.", "conv_first.", key)
        key = re.sub(rf"^body\.{n_resblocks}\.", "conv_after_body.", key)
        key = re.sub(r"^body\.(\d+)\.body\.0\.", r"body.\1.conv1.", key)
        key = re.sub(r"^body\.(\d+)\.body\.2\.", r"body.\1.conv2.", key)
        key = re.sub(r"^tail\.0\.", "upsample.", key)
        key = re.sub(r"^tail\.1\.", "conv_last.", key)
        out[key] = value
    return out


def _to_basicsr_rcan(state: dict, n_resgroups: int, n_resblocks: int) -> dict:
    out = {}
    for key, value in state.items():
        if key.startswith(("sub_mean", "add_mean")):
            continue
        key = re.sub(r"^head\.0\.", "conv_first.", key)
        key = re.sub(rf"^body\.{n_resgroups}\.", "conv_after_body.", key)
        key = re.sub(rf"^body\.(\d+)\.body\.{n_resblocks}\.", r"body.\1.conv.", key)
        key = re.sub(
            r"^body\.(\d+)\.body\.(\d+)\.body\.3\.conv_du\.0\.",
            r"body.\1.residual_group.\2.rcab.3.attention.1.",
            key,
        )
        key = re.sub(
            r"^body\.(\d+)\.body\.(\d+)\.body\.3\.conv_du\.2\.",
            r"body.\1.residual_group.\2.rcab.3.attention.3.",
            key,
        )
        key = re.sub(r"^body\.(\d+)\.body\.(\d+)\.body\.", r"body.\1.residual_group.\2.rcab.", key)
        key = re.sub(r"^tail\.0\.", "upsample.", key)
        key = re.sub(r"^tail\.1\.", "conv_last.", key)
        out[key] = value
    return out


@pytest.mark.parametrize("wrapper", ["params", "params_ema"])
def test_basicsr_edsr_with_wrapper(tmp_path, wrapper):
    model = _tiny("edsr", 3, TINY_EDSR)
    state = _to_basicsr_edsr(model.state_dict(), TINY_EDSR["n_resblocks"])
    assert "conv_first.weight" in state and "body.1.conv2.bias" in state
    torch.save({wrapper: state}, tmp_path / "EDSR_Mx3.pth")
    loaded, meta = load_checkpoint(tmp_path / "EDSR_Mx3.pth", scale=3)
    assert (meta["arch"], meta["source"], meta["scale"]) == ("edsr", "basicsr", 3)
    assert _same_output(model, loaded, 3) < 1e-5


def test_basicsr_prefers_ema_weights(tmp_path):
    ema = _tiny("edsr", 2, TINY_EDSR)
    other = _tiny("edsr", 2, {**TINY_EDSR})
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.5)
    n = TINY_EDSR["n_resblocks"]
    torch.save(
        {
            "params": _to_basicsr_edsr(other.state_dict(), n),
            "params_ema": _to_basicsr_edsr(ema.state_dict(), n),
        },
        tmp_path / "net_g.pth",
    )
    loaded, _ = load_checkpoint(tmp_path / "net_g.pth")
    assert _same_output(ema, loaded, 2) < 1e-5


def test_basicsr_rcan_with_dataparallel_prefix(tmp_path):
    model = _tiny("rcan", 4, TINY_RCAN)
    state = _to_basicsr_rcan(model.state_dict(), TINY_RCAN["n_resgroups"], TINY_RCAN["n_resblocks"])
    assert "body.0.residual_group.2.rcab.3.attention.3.weight" in state
    assert "body.1.conv.weight" in state
    torch.save({"params": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "RCAN.pth")
    loaded, meta = load_checkpoint(tmp_path / "RCAN.pth", scale=4)
    assert (meta["arch"], meta["source"]) == ("rcan", "basicsr")
    assert meta["hyper"]["reduction"] == 4 and meta["hyper"]["n_resgroups"] == 2
    assert _same_output(model, loaded, 4) < 1e-5


def test_official_checkpoint_with_wrong_scale(tmp_path):
    torch.save(_tiny("edsr", 2, TINY_EDSR).state_dict(), tmp_path / "x2.pt")
    with pytest.raises(SrpipeError, match="x2 edsr checkpoint"):
        load_checkpoint(tmp_path / "x2.pt", scale=4)


def test_unknown_layout_is_declined(tmp_path):
    torch.save({"encoder.weight": torch.zeros(3, 3)}, tmp_path / "other.pt")
    with pytest.raises(SrpipeError, match="unrecognised checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


# --- load_model -------------------------------------------------------------------------


def test_load_model_by_path(tmp_path):
    path = save_checkpoint(
        _tiny("rcan", 2, TINY_RCAN),
        tmp_path / "rcan_x2.safetensors",
        arch="rcan",
        scale=2,
        hyper=TINY_RCAN,
    )
    model, meta = load_model(str(path), 2)
    assert meta["arch"] == "rcan" and not model.training


def test_load_model_without_bundled_weights_says_how_to_train(monkeypatch):
    from dataclasses import replace

    from srpipe.plugins import SrpipePluginManager

    spec = replace(get_plugin_manager().model("rcan"), weights={})
    monkeypatch.setattr(SrpipePluginManager, "model", lambda self, name: spec)
    with pytest.raises(SrpipeError) as err:
        load_model("rcan", 3)
    assert str(err.value) == (
        "no bundled weights for rcan x3; train with `srpipe train --config "
        "configs/rcan_x3.yaml` or pass a checkpoint path"
    )


def test_load_model_uses_bundled_weights(tmp_path, monkeypatch):
    from dataclasses import replace

    from srpipe.plugins import SrpipePluginManager

    model = _tiny("edsr", 2, TINY_EDSR)
    path = save_checkpoint(
        model, tmp_path / "edsr_x2.safetensors", arch="edsr", scale=2, hyper=TINY_EDSR
    )
    spec = replace(get_plugin_manager().model("edsr"), weights={2: path})
    monkeypatch.setattr(SrpipePluginManager, "model", lambda self, name: spec)
    loaded, meta = load_model("edsr", 2)
    assert meta["name"] == "edsr" and _same_output(model, loaded, 2) == 0.0


def test_load_model_rejects_unsupported_scale():
    with pytest.raises(SrpipeError, match="not x5"):
        load_model("edsr", 5)


def test_foreign_safetensors_without_srpipe_metadata(tmp_path):
    """A BasicSR state dict stored as plain safetensors is detected like a .pth."""
    from safetensors.torch import save_file

    model = _tiny("edsr", 2, TINY_EDSR)
    state = _to_basicsr_edsr(model.state_dict(), TINY_EDSR["n_resblocks"])
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "edsr.safetensors")
    loaded, meta = load_checkpoint(tmp_path / "edsr.safetensors")
    assert meta["source"] == "basicsr" and _same_output(model, loaded, 2) < 1e-5
