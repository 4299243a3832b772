"""Config: defaults = paper recipe, YAML over defaults, dotted key=value overrides."""

from __future__ import annotations

import pytest

from srpipe.errors import SrpipeError
from srpipe.train.config import DEFAULTS, load_config, parse_override, run_dir


def test_defaults_are_the_paper_recipe():
    config = load_config()
    assert config["loss"] == "l1"
    assert config["optim"]["lr"] == 1e-4
    assert config["optim"]["betas"] == [0.9, 0.999]
    assert config["optim"]["eps"] == 1e-8
    assert config["schedule"] == {**DEFAULTS["schedule"], "gamma": 0.5, "step_size": 200000}
    assert config["data"]["batch_size"] == 16
    assert config["data"]["patch_size"] == 48
    assert config["train"]["iterations"] == 300000


@pytest.mark.parametrize(
    ("text", "keys", "value"),
    [
        ("optim.lr=2e-4", ["optim", "lr"], 2e-4),
        ("optim.lr=1.5E-3", ["optim", "lr"], 1.5e-3),
        ("data.batch_size=8", ["data", "batch_size"], 8),
        ("train.channels_last=true", ["train", "channels_last"], True),
        ("optim.betas=[0.8, 0.99]", ["optim", "betas"], [0.8, 0.99]),
        ("data.train=/data/DIV2K_train_HR", ["data", "train"], "/data/DIV2K_train_HR"),
        ("model.init_from=null", ["model", "init_from"], None),
        ("name=exp-1", ["name"], "exp-1"),
    ],
)
def test_parse_override(text, keys, value):
    assert parse_override(text) == (keys, value)


def test_overrides_apply_over_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: a\noptim:\n  lr: 1e-4\nmodel:\n  hyper: {n_feats: 32}\n")
    config = load_config(path, ["optim.lr=3e-4", "model.hyper.n_resblocks=4", "name=b"])
    assert config["optim"]["lr"] == pytest.approx(3e-4)  # YAML's "1e-4" string became a float
    assert config["model"]["hyper"] == {"n_feats": 32, "n_resblocks": 4}
    assert config["optim"]["eps"] == 1e-8  # untouched defaults survive a partial section
    assert run_dir(config).name == "b"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["optim.lrr=1"], "unknown config key 'optim.lrr'"),
        (["nonsense=1"], "unknown config key 'nonsense'"),
        (["optim=3"], "must be a mapping"),
        (["loss=huber"], "loss must be one of"),
        (["scale=5"], "scale must be 2, 3, 4 or 8"),
        (["optim.lr=fast"], "optim.lr must be a number"),
        (["noequals"], "is not key=value"),
        (["train.ema=1.5"], "train.ema must be in [0, 1)"),
    ],
)
def test_bad_overrides_are_one_line_errors(overrides, message):
    with pytest.raises(SrpipeError) as info:
        load_config(None, overrides)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(SrpipeError, match="not found"):
        load_config(tmp_path / "nope.yaml")
