"""Hostile checkpoints and training options, tried through the CLI as a user would: a
header that asks for a giant network, weights that are NaN or integers, a header scale of
3.9, `train scale=3.9`, a config file that is not text. Each gives one line and exit 1,
and nothing is written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from srpipe.image.io import write_image
from srpipe.models import checkpoint as checkpoint_module

from .conftest import assert_one_line_error

TINY = {"n_resblocks": 1, "n_feats": 8, "res_scale": 1.0, "rgb_range": 255.0}


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    write_image(path, np.random.default_rng(0).integers(0, 255, (12, 12, 3), dtype=np.uint8))
    return path


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A tiny EDSR x2 in srpipe's format and a way to rewrite its tensors or header."""
    import torch

    from srpipe.models.checkpoint import save_checkpoint
    from srpipe.plugins import get_plugin_manager

    torch.manual_seed(0)
    model = get_plugin_manager().model("edsr").build(scale=2, **TINY)
    path = save_checkpoint(model, tmp_path / "tiny.safetensors", arch="edsr", scale=2, hyper=TINY)
    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()

    def rewrite(tensors=None, **header):
        state = {**load_file(str(path)), **(tensors or {})}
        changed = {key: json.dumps(value) for key, value in header.items()}
        save_file(state, str(path), metadata={**metadata, **changed})
        return path

    return rewrite


@pytest.fixture
def never_built(monkeypatch):
    """Fails the test if the network is built for real before the checks refuse it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the network was built before its checkpoint was checked")

    monkeypatch.setattr(checkpoint_module, "_build", refuse)


def test_a_header_asking_for_n_feats_4096_is_refused_before_building(
    tmp_path, image, tiny_checkpoint, never_built, srpipe_cli
):
    path = tiny_checkpoint(hyper={**TINY, "n_feats": 4096})
    outcome = srpipe_cli("upscale", image, tmp_path / "o.png", "--sr", path, "--scale", 2)
    assert_one_line_error(outcome, "tiny.safetensors", "n_feats=4096", "re-save it")
    assert not (tmp_path / "o.png").exists()


def test_a_header_asking_for_a_million_blocks_is_refused(
    tmp_path, image, tiny_checkpoint, never_built, srpipe_cli
):
    path = tiny_checkpoint(hyper={**TINY, "n_resblocks": 1_000_000})
    outcome = srpipe_cli("upscale", image, tmp_path / "o.png", "--sr", path, "--scale", 2)
    assert_one_line_error(outcome, "tiny.safetensors", "far larger than the")


def test_a_network_over_the_memory_budget_is_refused(
    tmp_path, image, tiny_checkpoint, never_built, srpipe_cli, monkeypatch
):
    monkeypatch.setenv("SRPIPE_MEMORY", "1K")
    path = tiny_checkpoint()
    outcome = srpipe_cli("upscale", image, tmp_path / "o.png", "--sr", path, "--scale", 2)
    assert_one_line_error(outcome, "tiny.safetensors", "over the memory budget", "SRPIPE_MEMORY")


@pytest.mark.parametrize("command", ["upscale", "export"])
def test_nan_weights_are_refused_naming_the_tensor(
    tmp_path, image, tiny_checkpoint, never_built, srpipe_cli, command
):
    import torch

    weight = load_file(str(tiny_checkpoint()))["tail.1.weight"].clone()
    weight.view(-1)[3] = float("nan")
    path = tiny_checkpoint({"tail.1.weight": weight})
    if command == "upscale":
        outcome = srpipe_cli("upscale", image, tmp_path / "o.png", "--sr", path, "--scale", 2)
    else:
        outcome = srpipe_cli("export", "--sr", path, "--scale", 2, "-o", tmp_path / "o.onnx")
    assert_one_line_error(outcome, "tiny.safetensors", "tail.1.weight", "NaN/Inf")
    assert not list(tmp_path.glob("o.*"))
    assert torch.isnan(weight).any()


def test_integer_weights_are_refused_naming_the_tensor(
    tmp_path, image, tiny_checkpoint, never_built, srpipe_cli
):
    import torch

    path = tiny_checkpoint({"head.0.weight": torch.ones(8, 3, 3, 3, dtype=torch.int32)})
    outcome = srpipe_cli("upscale", image, tmp_path / "o.png", "--sr", path, "--scale", 2)
    assert_one_line_error(outcome, "tiny.safetensors", "head.0.weight", "I32")


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ({"scale": 3.9}, "scale 3.9"),
        ({"arch": "nosuch"}, "arch 'nosuch'"),
        ({"hyper": "n_feats=8"}, "not a mapping"),
    ],
)
def test_a_tampered_header_is_refused(
    tmp_path, image, tiny_checkpoint, never_built, srpipe_cli, header, fragment
):
    path = tiny_checkpoint(**header)
    outcome = srpipe_cli("upscale", image, tmp_path / "o.png", "--sr", path, "--scale", 3)
    assert_one_line_error(outcome, "tiny.safetensors", fragment)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("scale=3.9", "config scale=3.9: expected one of 2, 3, 4, 8"),
        ("data.augment=0", "config data.augment=0: expected true or false"),
        ("train.iterations=10.5", "config train.iterations=10.5: expected a whole number"),
        ("model.hyper=3", "config model.hyper=3: expected a mapping"),
        ("model.hyper.n_feats=-3", "model.hyper {'n_feats': -3} cannot build edsr"),
        ("model.arch=nosuch", "config model.arch='nosuch': not a registered SR model"),
    ],
)
def test_train_refuses_a_value_of_the_wrong_type(tmp_path, srpipe_cli, override, fragment):
    run = tmp_path / "run"
    outcome = srpipe_cli("train", f"out_dir={run}", "data.train=samples:train", override)
    assert_one_line_error(outcome, fragment)
    assert not (run / "state.pt").exists()


def test_train_refuses_a_config_file_that_is_not_text(tmp_path, srpipe_cli):
    config = tmp_path / "c.yaml"
    config.write_bytes(b"\xff\xfe\x00 scale: [")
    outcome = srpipe_cli("train", "--config", config)
    assert_one_line_error(outcome, "c.yaml is not UTF-8 text")


def test_resume_from_a_folder_named_state_pt_says_so(tmp_path, srpipe_cli):
    run = tmp_path / "run"
    (run / "state.pt").mkdir(parents=True)
    outcome = srpipe_cli("train", "--resume", f"out_dir={run}", "data.train=samples:train")
    assert_one_line_error(outcome, "state.pt is a folder, not a training state")
