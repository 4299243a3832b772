"""The training loop, in-process: determinism, outputs, NaN stop, time budget, schedule, EMA."""

from __future__ import annotations

import csv

import pytest
import torch

from srpipe.train import trainer as trainer_module
from srpipe.train.run_state import STATE_FILE
from srpipe.train.trainer import Trainer, TrainingStopped

from .conftest import tiny_config


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_run_writes_everything_and_learns(tmp_path, tiny_data):
    config = tiny_config(tmp_path, tiny_data, "full", ("train.iterations=30", "train.val_every=10"))
    result = Trainer(config).fit()
    out = result.run_dir
    assert result.status == "finished" and result.iteration == 30
    for name in ("config.yaml", STATE_FILE, "last.safetensors", "best.safetensors", "curves.png"):
        assert (out / name).is_file(), name
    with (out / "val_log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["iteration"]) for r in rows] == [0, 10, 20, 30]  # row 0 = bicubic
    with (out / "train_log.csv").open() as handle:
        losses = [float(r["loss"]) for r in csv.DictReader(handle)]
    assert losses[-1] < losses[0]
    # best.safetensors loads through the model zoo's loader with its hyper-parameters
    from srpipe.models.checkpoint import load_checkpoint

    model, meta = load_checkpoint(out / "best.safetensors", scale=2)
    assert meta["hyper"]["n_resblocks"] == 1 and meta["hyper"]["n_feats"] == 8
    assert meta["val_psnr_y"] == pytest.approx(result.best_psnr, abs=1e-3)
    assert model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)


def test_same_seed_same_weights(tmp_path, tiny_data):
    a = Trainer(tiny_config(tmp_path, tiny_data, "a")).fit()
    b = Trainer(tiny_config(tmp_path, tiny_data, "b")).fit()
    c = Trainer(tiny_config(tmp_path, tiny_data, "c", ("seed=1",))).fit()
    wa, wb, wc = (_weights(r.run_dir / "last.safetensors") for r in (a, b, c))
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)


def test_existing_run_needs_resume(tmp_path, tiny_data):
    from srpipe.errors import SrpipeError

    config = tiny_config(tmp_path, tiny_data, "twice", ("train.iterations=2",))
    Trainer(config).fit()
    with pytest.raises(SrpipeError, match="--resume"):
        Trainer(config).fit()


def _poison_loss_at(monkeypatch, step: int) -> None:
    """The run's loss becomes NaN at its ``step``-th call."""
    real_build = trainer_module.build_loss

    def poisoned(name):
        loss = real_build(name)
        calls = {"n": 0}

        def forward(sr, hr):
            calls["n"] += 1
            value = loss(sr, hr)
            return value * float("nan") if calls["n"] == step else value

        return forward

    monkeypatch.setattr(trainer_module, "build_loss", poisoned)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, tiny_data, monkeypatch):
    _poison_loss_at(monkeypatch, 8)
    config = tiny_config(
        tmp_path, tiny_data, "nan", ("train.checkpoint_every=3", "train.val_every=100")
    )
    with pytest.raises(TrainingStopped) as info:
        Trainer(config).fit()
    assert "iteration 8" in str(info.value) and "\n" not in str(info.value)
    assert f"{config_dir(config) / STATE_FILE} (iteration 6;" in str(info.value)
    state = torch.load(config_dir(config) / STATE_FILE, weights_only=False)
    assert state["iteration"] == 6  # the last checkpoint before the bad step
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert all(
        torch.isfinite(v).all() for v in _weights(config_dir(config) / "last.safetensors").values()
    )


def test_nan_loss_before_the_first_checkpoint_points_to_no_missing_file(
    tmp_path, tiny_data, monkeypatch
):
    _poison_loss_at(monkeypatch, 2)
    config = tiny_config(tmp_path, tiny_data, "early", ("train.checkpoint_every=5",))
    with pytest.raises(TrainingStopped) as info:
        Trainer(config).fit()
    message = str(info.value)
    assert (
        "iteration 2" in message and "before its first checkpoint (due at iteration 5)" in message
    )
    assert "without --resume" in message and STATE_FILE not in message and "\n" not in message
    assert not (config_dir(config) / STATE_FILE).exists()

    # what the message says works: the same command again, without --resume, from scratch
    monkeypatch.undo()
    result = Trainer(config).fit()
    assert result.status == "finished"
    with (config_dir(config) / "val_log.csv").open() as handle:
        iterations = [int(r["iteration"]) for r in csv.DictReader(handle)]
    assert iterations == [0, 5, 10]  # the failed start's bicubic row is not kept twice


def test_nan_loss_after_a_resume_points_to_the_resumed_checkpoint(tmp_path, tiny_data, monkeypatch):
    config = tiny_config(tmp_path, tiny_data, "again", ("train.iterations=5",))
    Trainer(config).fit()
    _poison_loss_at(monkeypatch, 2)
    config["train"]["iterations"] = 10
    with pytest.raises(TrainingStopped) as info:
        Trainer(config, resume=True).fit()
    assert "iteration 7" in str(info.value) and "(iteration 5;" in str(info.value)


def config_dir(config):
    from srpipe.train.config import run_dir

    return run_dir(config)


def test_time_budget_ends_cleanly(tmp_path, tiny_data):
    config = tiny_config(
        tmp_path, tiny_data, "budget", ("train.iterations=100000", "train.max_minutes=0.0001")
    )
    result = Trainer(config).fit()
    assert result.status == "budget"
    assert 1 <= result.iteration < 100000
    state = torch.load(result.run_dir / STATE_FILE, weights_only=False)
    assert state["iteration"] == result.iteration
    assert (result.run_dir / "best.safetensors").is_file()  # final validation ran


@pytest.mark.parametrize("channels_last", [False, True])
def test_validation_psnr_is_eval_sr_psnr_of_the_checkpoint(tmp_path, tiny_data, channels_last):
    """Training validates through the Upscaler's own SR forward (layout, clamp, round half
    up): the Y-PSNR it logs for a checkpoint is the one ``srpipe eval sr`` measures for that
    checkpoint on the same images, whatever layout the run trains in."""
    import srpipe

    overrides = (
        "train.iterations=10",
        "train.val_every=10",
        f"train.channels_last={channels_last}",
    )
    trainer = Trainer(tiny_config(tmp_path, tiny_data, "same", overrides))
    result = trainer.fit()
    checkpoint = result.run_dir / "best.safetensors"
    with (result.run_dir / "val_log.csv").open() as handle:
        logged = float(list(csv.DictReader(handle))[-1]["psnr"])
    assert result.best_iteration == 10  # best.safetensors holds the weights logged last

    measured = srpipe.compare(
        "sr",
        tiny_data["val"],
        sr=[str(checkpoint)],
        compare=["bicubic"],
        scales=[2],
        device="cpu",
        bootstrap=0,
        n_crops=0,
        progress=False,
    )
    eval_psnr = measured.value("best", "psnr")
    assert logged == round(eval_psnr, 4)
    # unrounded, image by image: validate() on the same weights gives eval's mean exactly
    assert trainer.validate()["psnr"] == pytest.approx(eval_psnr, abs=1e-9)


class _Halves(torch.nn.Module):
    """x2 nearest upscaling whose every output value lies exactly halfway between two uint8
    levels: rounding half up and half to even give different images."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        return (torch.round(up * 255) + 0.5) / 255


def test_validation_rounds_half_up_as_the_upscaler_does(tmp_path, tiny_data):
    import numpy as np

    from srpipe.image.metrics import psnr
    from srpipe.upscaling.upscaler import Upscaler

    trainer = Trainer(tiny_config(tmp_path, tiny_data, "halves", ("train.iterations=1",)))
    trainer.fit()
    trainer.model = _Halves()  # no EMA: validate() scores self.model
    up = Upscaler.from_module(_Halves(), 2, device="cpu")
    for pair in trainer.val_pairs:
        nearest = pair.lr.repeat(2, axis=0).repeat(2, axis=1).astype(np.int32)
        assert np.array_equal(up(pair.lr), np.minimum(nearest + 1, 255))  # every half went up
    expected = np.mean([psnr(up(p.lr), p.hr, shave=2) for p in trainer.val_pairs])
    assert trainer.validate()["psnr"] == expected
