"""`srpipe train --resume` on hostile or broken state.pt files."""

from __future__ import annotations

import pytest

from srpipe.train.run_state import STATE_FILE
from srpipe.train.trainer import Trainer
from tests.train.conftest import tiny_config, write_config, write_images

from .conftest import assert_one_line_error, write_malicious_pickle


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("robust-train")
    return {
        "train": write_images(root / "train", 2, 32, 3),
        "val": write_images(root / "val", 1, 24, 4),
    }


def _run_folder(tmp_path, data, name="r"):
    config = write_config(tmp_path, data, name, ("train.iterations=2",))
    folder = tmp_path / name
    folder.mkdir()
    return config, folder


def test_malicious_state_never_runs(tmp_path, data, marker, srpipe_cli):
    config, folder = _run_folder(tmp_path, data)
    write_malicious_pickle(folder / STATE_FILE, marker, {"iteration": 1})
    outcome = srpipe_cli("train", "--config", config, "--resume")
    assert_one_line_error(outcome, "refusing", STATE_FILE)
    assert not marker.exists()


def test_truncated_state_is_one_line(tmp_path, data, srpipe_cli):
    config = tiny_config(tmp_path, data, "t", ("train.iterations=2",))
    Trainer(config).fit()
    state = tmp_path / "t" / STATE_FILE
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    outcome = srpipe_cli("train", "--config", write_config(tmp_path, data, "t"), "--resume")
    assert_one_line_error(outcome, "unreadable", "truncated")


def test_resume_after_hyper_change_is_one_line(tmp_path, data, srpipe_cli):
    Trainer(tiny_config(tmp_path, data, "h", ("train.iterations=2",))).fit()
    changed = write_config(tmp_path, data, "h", ("model.hyper.n_feats=16",))
    outcome = srpipe_cli("train", "--config", changed, "--resume")
    assert_one_line_error(outcome, "does not fit", "model.hyper")
    assert outcome.err.count("\n") <= 2, outcome.err


def test_typo_under_model_hyper_is_one_line(tmp_path, data, srpipe_cli):
    config = write_config(tmp_path, data, "typo", ("model.hyper.n_featz=8",))
    outcome = srpipe_cli("train", "--config", config)
    assert_one_line_error(outcome, "model.hyper", "n_featz", "n_feats")
    assert not (tmp_path / "typo" / STATE_FILE).exists()
