"""Config: defaults = paper recipe, YAML over defaults, dotted key=value overrides."""

from __future__ import annotations

import pytest

from srpipe.errors import SrpipeError
from srpipe.train.config import (
    DEFAULTS,
    FIELDS,
    FREE_FORM,
    TASK_DEFAULTS,
    load_config,
    parse_override,
    run_dir,
)


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
        (["loss=huber"], "config loss='huber': expected one of l1"),
        (["scale=5"], "config scale=5: expected one of 2, 3, 4, 8"),
        (["optim.lr=fast"], "config optim.lr='fast': expected a number"),
        (["noequals"], "is not key=value"),
        (["train.ema=1.5"], "config train.ema=1.5: expected a number in [0, 1)"),
        (["model.hyper=3"], "config model.hyper=3: expected a mapping"),
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


def _leaves(section: dict, prefix: str = "") -> list[str]:
    keys = []
    for key, value in section.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in FREE_FORM:
            keys += _leaves(value, dotted + ".")
        else:
            keys.append(dotted)
    return keys


def test_every_config_key_has_a_type():
    keys = _leaves(DEFAULTS) + _leaves(TASK_DEFAULTS, "task.")
    assert sorted(keys) == sorted(FIELDS)


def test_every_default_passes_its_own_check():
    config = load_config(None, (), task="detect")
    assert config["task"]["weights"]["sr"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("scale=3.9", "config scale=3.9: expected one of 2, 3, 4, 8"),
        ("scale=true", "config scale=True: expected one of 2, 3, 4, 8"),
        ("seed=0.5", "config seed=0.5: expected a whole number"),
        ("threads=-1", "config threads=-1: expected a whole number >= 0"),
        ("device=7", "config device=7: expected auto, cpu, mps, cuda or cuda:N"),
        ("device=gpu", "config device='gpu': expected auto"),
        ("name=[a]", "config name=['a']: expected text"),
        ("model.arch=null", "config model.arch=None: expected text"),
        ("model.init_from=3.5", "config model.init_from=3.5: expected text or null"),
        ("data.augment=0", "config data.augment=0: expected true or false"),
        ("data.batch_size=2.5", "config data.batch_size=2.5: expected a whole number >= 1"),
        ("data.num_workers=-2", "config data.num_workers=-2: expected a whole number >= 0"),
        ("data.val_limit=many", "config data.val_limit='many': expected a whole number"),
        ("optim.betas=[0.9]", "config optim.betas=[0.9]: expected a list of 2 numbers in [0, 1)"),
        ("optim.betas=[0.9, 1.5]", "expected a list of 2 numbers in [0, 1)"),
        ("optim.eps=-1e-8", "config optim.eps=-1e-08: expected a number >= 0"),
        ("optim.lr=.nan", "config optim.lr=nan: expected a number >= 0"),
        ("optim.lr=true", "config optim.lr=True: expected a number"),
        ("schedule.milestones=[1.5]", "expected a list of whole numbers >= 1"),
        ("schedule.milestones=7", "config schedule.milestones=7: expected a list"),
        ("schedule.warmup=-1", "config schedule.warmup=-1: expected a whole number >= 0"),
        ("train.iterations=10.5", "config train.iterations=10.5: expected a whole number >= 1"),
        ("train.max_minutes=-1", "config train.max_minutes=-1: expected a number >= 0"),
        ("train.precision=fp64", "config train.precision='fp64': expected one of fp32"),
        ("train.tensorboard=maybe", "config train.tensorboard='maybe': expected true or false"),
        ("task.weights.tdp=-1", "config task.weights.tdp=-1: expected a number >= 0"),
        ("task.cqmix_patch=0", "config task.cqmix_patch=0: expected a whole number >= 1"),
        ("task.optim.name=rmsprop", "config task.optim.name='rmsprop': expected one of adam"),
        ("task.options=5", "config task.options=5: expected a mapping"),
    ],
)
def test_every_value_is_checked_for_its_type(override, message):
    task = "detect" if override.startswith("task.") else None
    with pytest.raises(SrpipeError) as info:
        load_config(None, [override], task=task)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("override", "key", "value"),
    [
        ("scale=4.0", ("scale",), 4),
        ("train.iterations=1e5", ("train", "iterations"), 100000),
        ("name=2024", ("name",), "2024"),
        ("loss=L2", ("loss",), "l2"),
        ("data.val=", ("data", "val"), None),
    ],
)
def test_values_are_normalised_to_what_the_run_uses(override, key, value):
    config = load_config(None, [override])
    for part in key[:-1]:
        config = config[part]
    assert config[key[-1]] == value and type(config[key[-1]]) is type(value)


def test_a_yaml_file_with_a_fractional_scale_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("scale: 3.9\n")
    with pytest.raises(SrpipeError, match=r"config scale=3\.9: expected one of 2, 3, 4, 8"):
        load_config(path)
