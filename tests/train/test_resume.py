"""Resume after `kill -9`, and SIGTERM writing a checkpoint, through the real CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import torch

from srpipe.train.run_state import STATE_FILE
from srpipe.train.trainer import Trainer

from .conftest import tiny_config, write_config

ITERATIONS = 60


def _start(config_path, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "srpipe", "train", "--config", str(config_path), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _wait_for(path, proc, timeout=300):
    """Poll until ``path`` exists (the first checkpoint), failing if the process ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(
                f"training ended before its first checkpoint:\n{proc.stdout.read()}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("no checkpoint appeared")
        time.sleep(0.05)


def _state(path):
    return torch.load(path, weights_only=True, map_location="cpu")


def test_kill9_then_resume_matches_uninterrupted(tmp_path, tiny_data):
    overrides = (
        f"train.iterations={ITERATIONS}",
        "train.checkpoint_every=10",
        "train.val_every=50",
    )
    reference = Trainer(tiny_config(tmp_path, tiny_data, "straight", overrides)).fit()

    config_path = write_config(tmp_path, tiny_data, "killed", overrides)
    run = tmp_path / "killed"
    proc = _start(config_path)
    _wait_for(run / STATE_FILE, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _state(run / STATE_FILE)["iteration"]
    assert 10 <= killed_at < ITERATIONS, "the run finished before it could be killed"

    done = subprocess.run(
        [sys.executable, "-m", "srpipe", "train", "--config", str(config_path), "--resume"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"resumed {run} at iteration {killed_at}" in done.stdout + done.stderr

    a, b = _state(reference.run_dir / STATE_FILE), _state(run / STATE_FILE)
    assert a["iteration"] == b["iteration"] == ITERATIONS
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(sa["exp_avg"], sb["exp_avg"])
    # the log has each iteration once, even though the killed run logged past its checkpoint
    rows = (run / "train_log.csv").read_text().splitlines()[1:]
    iterations = [int(r.split(",")[0]) for r in rows]
    assert iterations == sorted(set(iterations))


def test_sigterm_writes_a_checkpoint(tmp_path, tiny_data):
    config_path = write_config(
        tmp_path,
        tiny_data,
        "term",
        ("train.iterations=100000", "train.checkpoint_every=1000", "train.val_every=1000"),
    )
    run = tmp_path / "term"
    proc = _start(config_path)
    _wait_for(run / "train_log.csv", proc)  # it is training (logs every 5 iterations)
    assert not (run / STATE_FILE).exists()  # no periodic checkpoint yet
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, output
    state = _state(run / STATE_FILE)
    assert 5 <= state["iteration"] < 1000
    assert f"checkpoint written at iteration {state['iteration']}" in output
    assert (run / "last.safetensors").is_file()
