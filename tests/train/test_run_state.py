"""A run folder's resume state: random states round-trip, logs are cut back to a checkpoint."""

from __future__ import annotations

import csv
import random

import numpy as np
import torch

from srpipe.train.run_state import append_csv, rng_state, set_rng_state, truncate_log


def _draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_rng_state_round_trips_through_a_weights_only_file(tmp_path):
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    torch.save({"rng": rng_state()}, tmp_path / "s.pt")
    first = _draws()
    set_rng_state(torch.load(tmp_path / "s.pt", weights_only=True)["rng"])
    assert _draws() == first


def test_truncate_log_drops_rows_after_the_checkpoint(tmp_path):
    log = tmp_path / "train_log.csv"
    for iteration in (5, 10, 15):
        append_csv(log, ["iteration", "loss"], [iteration, 0.1])
    truncate_log(log, 10)
    with log.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["iteration", "loss"], ["5", "0.1"], ["10", "0.1"]]
    truncate_log(tmp_path / "missing.csv", 10)  # nothing logged yet: nothing to cut
