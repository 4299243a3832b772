"""The training loop, in-process: determinism, outputs, NaN stop, time budget, schedule, EMA."""

from __future__ import annotations

import csv
import math

import pytest
import torch

from srpipe.train import trainer as trainer_module
from srpipe.train.trainer import EMA, STATE_FILE, LRSchedule, Trainer, TrainingStopped

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


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, tiny_data, monkeypatch):
    real_build = trainer_module.build_loss

    def poisoned(name):
        loss = real_build(name)
        calls = {"n": 0}

        def forward(sr, hr):
            calls["n"] += 1
            value = loss(sr, hr)
            return value * float("nan") if calls["n"] == 8 else value

        return forward

    monkeypatch.setattr(trainer_module, "build_loss", poisoned)
    config = tiny_config(
        tmp_path, tiny_data, "nan", ("train.checkpoint_every=3", "train.val_every=100")
    )
    with pytest.raises(TrainingStopped) as info:
        Trainer(config).fit()
    assert "iteration 8" in str(info.value) and "\n" not in str(info.value)
    state = torch.load(config_dir(config) / STATE_FILE, weights_only=False)
    assert state["iteration"] == 6  # the last checkpoint before the bad step
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert all(
        torch.isfinite(v).all() for v in _weights(config_dir(config) / "last.safetensors").values()
    )


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


def test_ema_averages_weights():
    model = torch.nn.Linear(2, 2)
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model.weight.add_(1.0)
    before = ema.model.weight.clone()
    ema.update(model, step=1000)
    expected = 0.9 * before + 0.1 * model.weight
    torch.testing.assert_close(ema.model.weight, expected)


@pytest.mark.parametrize(
    ("schedule", "iteration", "expected"),
    [
        ({"name": "step", "step_size": 200000, "gamma": 0.5}, 199999, 1e-4),
        ({"name": "step", "step_size": 200000, "gamma": 0.5}, 200000, 5e-5),
        ({"name": "multistep", "milestones": [10, 20], "gamma": 0.1}, 25, 1e-6),
        ({"name": "cosine", "min_lr": 0.0}, 50, 5e-5),
        ({"name": "cosine", "min_lr": 0.0}, 100, 0.0),
        ({"name": "constant"}, 5, 1e-4),
    ],
)
def test_schedules(schedule, iteration, expected):
    full = {"step_size": 1, "gamma": 1.0, "milestones": [], "min_lr": 0.0, "warmup": 0, **schedule}
    assert LRSchedule(full, 1e-4, 100, 0).lr(iteration, 0.0) == pytest.approx(expected)


def test_cosine_follows_the_time_budget():
    full = {"name": "cosine", "min_lr": 0.0, "warmup": 0}
    schedule = LRSchedule(full, 1e-4, iterations=10**6, minutes=10)
    assert schedule.lr(10, 300.0) == pytest.approx(5e-5)  # half the budget spent
    assert schedule.lr(10, 900.0) == pytest.approx(0.0)


def test_warmup_is_linear():
    full = {"name": "constant", "warmup": 10}
    assert LRSchedule(full, 1e-3, 100, 0).lr(0, 0) == pytest.approx(1e-4)
    assert LRSchedule(full, 1e-3, 100, 0).lr(9, 0) == pytest.approx(1e-3)
    assert not math.isnan(LRSchedule(full, 1e-3, 100, 0).lr(50, 0))


def test_init_from_x2_copies_all_but_the_upsampler(tmp_path, tiny_data):
    from srpipe.train.trainer import build_model, init_weights_from

    x2 = Trainer(tiny_config(tmp_path, tiny_data, "x2", ("train.iterations=2",))).fit()
    config = tiny_config(tmp_path, tiny_data, "x4", ("scale=4",))
    model, _ = build_model(config)
    copied, total = init_weights_from(model, x2.run_dir / "last.safetensors")
    assert 0 < copied < total
    source = _weights(x2.run_dir / "last.safetensors")
    torch.testing.assert_close(model.state_dict()["head.0.weight"], source["head.0.weight"])


def test_init_from_keeps_the_checkpoint_input_normalisation(tmp_path):
    """The bundled edsr feeds its LIIF encoder (x - 0.5) / 0.5 (rgb_range 2, mean 0.5): a run
    that starts from it must build the same normalisation, or its first output is garbage."""
    from srpipe.models.checkpoint import save_checkpoint
    from srpipe.models.networks.edsr import EDSR
    from srpipe.train.trainer import build_model, init_weights_from

    hyper = {"n_resblocks": 1, "n_feats": 8, "rgb_range": 2.0, "rgb_mean": [0.5, 0.5, 0.5]}
    source = EDSR(scale=2, **hyper).eval()
    path = save_checkpoint(source, tmp_path / "src.safetensors", arch="edsr", scale=2, hyper=hyper)
    config = {
        "scale": 2,
        "model": {"arch": "edsr", "hyper": {"n_resblocks": 1, "n_feats": 8}, "init_from": path},
    }
    model, built = build_model(config)
    assert built["rgb_range"] == 2.0 and list(built["rgb_mean"]) == [0.5, 0.5, 0.5]
    init_weights_from(model, path)
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), source(x))
    # an explicit value in the config still wins
    config["model"]["hyper"]["rgb_range"] = 255.0
    assert build_model(config)[1]["rgb_range"] == 255.0
