"""`srpipe train` and `srpipe data` on the command line (click runner, no subprocess)."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from srpipe.cli import cli


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def test_print_config_applies_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nmodel: {arch: rcan, hyper: {n_resgroups: 3}}\n")
    result = _run(["train", "--config", str(path), "--print-config", "optim.lr=2e-4", "scale=2"])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(result.output)
    assert config["optim"]["lr"] == 2e-4 and config["scale"] == 2
    assert config["model"] == {"arch": "rcan", "hyper": {"n_resgroups": 3}, "init_from": None}


def test_bad_override_is_a_one_line_error(tmp_path):
    from srpipe.cli import main

    with pytest.raises(SystemExit) as info:
        main(["train", "--print-config", "optim.lrr=1"])
    assert info.value.code == 1


def test_repository_configs_load():
    from pathlib import Path

    from srpipe.train.config import load_config

    configs = sorted(Path(__file__).resolve().parents[2].joinpath("configs").rglob("*.yaml"))
    assert configs, "configs/ is empty"
    from srpipe.plugins import get_plugin_manager

    names = set(get_plugin_manager().models())
    for path in configs:
        config = load_config(path)
        assert config["model"]["arch"] in names, path
        # the config's hyper-parameters are ones its network's builder takes
        spec = get_plugin_manager().model(config["model"]["arch"])
        assert set(config["model"]["hyper"]) <= set(spec.defaults), path


def test_train_runs_from_the_cli(tmp_path, tiny_cli_data):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "cli",
                "out_dir": str(tmp_path / "{name}"),
                "scale": 2,
                "threads": 1,
                "model": {"arch": "edsr", "hyper": {"n_resblocks": 1, "n_feats": 4}},
                "data": {
                    "train": str(tiny_cli_data),
                    "val": str(tiny_cli_data),
                    "patch_size": 8,
                    "batch_size": 2,
                },
                "train": {
                    "iterations": 3,
                    "val_every": 3,
                    "checkpoint_every": 3,
                    "tensorboard": False,
                    "progress": False,
                },
            }
        )
    )
    result = _run(["train", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "finished: 3 iterations" in result.output
    assert (tmp_path / "cli" / "best.safetensors").is_file()


def test_data_group_lists_its_commands():
    result = _run(["data", "--help"])
    assert result.exit_code == 0
    for name in ("fetch", "samples", "list", "synth"):
        assert name in result.output


def test_data_collects_plugin_commands(monkeypatch):
    import click

    from srpipe.plugins import get_plugin_manager

    @click.command("toy")
    def toy():
        """A plugin's generator."""
        click.echo("toy ran")

    class Plugin:
        from srpipe.hookspecs import hookimpl

        @staticmethod
        @hookimpl
        def srpipe_register_commands(parent):
            return [toy] if parent == "data synth" else []

    manager = get_plugin_manager()
    manager.register(Plugin, name="toy-plugin")
    try:
        result = _run(["data", "synth", "toy"])
        assert result.exit_code == 0 and "toy ran" in result.output
        assert "toy" in _run(["data", "synth", "--help"]).output
        assert "toy" not in _run(["data", "--help"]).output.split("Commands:")[1]
    finally:
        manager.unregister(name="toy-plugin")


@pytest.fixture
def tiny_cli_data(tmp_path):
    import cv2
    import numpy as np

    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        img = cv2.resize(rng.integers(0, 255, (4, 4, 3), dtype=np.uint8), (32, 32))
        cv2.imwrite(str(folder / f"{i}.png"), img)
    return folder
