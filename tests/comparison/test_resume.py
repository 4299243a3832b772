"""A killed eval resumes: finished chunks reused, nothing done recomputed, the same report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from srpipe.comparison.harness import Comparison
from srpipe.comparison.resume import ChunkStore
from srpipe.errors import SrpipeError
from srpipe.image.io import write_image
from srpipe.upscaling.cache import UpscaleCache
from tests.comparison.test_compare import BrightnessTask, OracleUpscaler, make_dataset

# a plugin task for the CLI runs: logs every item it predicts, and stalls after a number of
# predictions when told to (so the test can kill it mid-eval)
TASK_FILE = """
import os, time
from pathlib import Path
from srpipe import Dataset, Item, Task, hookimpl

class Logged(Task):
    name = "logged"
    metrics = ("bright",)
    evaluate_is_item_mean = True

    def predict(self, images):
        log = os.environ["LOGGED_TASK_LOG"]
        with open(log, "a") as handle:
            handle.write(f"{len(images)}\\n")
        stall = int(os.environ.get("LOGGED_TASK_STALL_AFTER", "0"))
        if stall and sum(1 for _ in open(log)) >= stall:
            time.sleep(600)
        return [float(img.mean()) for img in images]

    def item_scores(self, prediction, item):
        return {"bright": prediction - float(item.image.mean())}

    def load_dataset(self, data, **options):
        files = sorted(Path(data).glob("*.png"))
        return Dataset("logged", [Item.from_file(f.stem, f) for f in files])

@hookimpl
def srpipe_register_tasks():
    return [Logged]
"""


def _images(folder: Path, n: int) -> None:
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(n):
        write_image(folder / f"im{i:02d}.png", rng.integers(0, 255, (24, 28, 3), np.uint8))


def _eval(tmp_path: Path, out: str, env: dict[str, str], *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "srpipe", "-p", str(tmp_path / "logged_task.py"), "eval"]
    args += ["logged", "--data", str(tmp_path / "hr"), "--sr", "none", "--compare"]
    args += ["bicubic,nearest", "--scale", "2", "--bootstrap", "0", "-o", str(tmp_path / out)]
    return subprocess.Popen([*args, *extra], env=env, stdout=subprocess.PIPE, text=True)


def _report(path: Path) -> dict[str, Any]:
    """report.json with timings and the command line left out (they differ by nature)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in value.items()
                if not k.startswith("seconds_") and k not in ("environment", "command")
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads((path / "report.json").read_text()))


def test_kill_9_mid_eval_then_the_same_command_reuses_finished_chunks(tmp_path: Path) -> None:
    (tmp_path / "logged_task.py").write_text(TASK_FILE)
    _images(tmp_path / "hr", 24)  # 3 chunks of 8, three variants: 9 predict calls
    env = {**os.environ, "SRPIPE_CACHE": str(tmp_path / "cache")}
    whole = {**env, "LOGGED_TASK_LOG": str(tmp_path / "whole.log")}
    assert _eval(tmp_path, "whole", whole).wait(timeout=300) == 0

    log = tmp_path / "killed.log"
    stalled = {**env, "LOGGED_TASK_LOG": str(log), "LOGGED_TASK_STALL_AFTER": "5"}
    proc = _eval(tmp_path, "resumed", stalled)
    deadline = time.monotonic() + 300
    while (not log.exists() or len(log.read_text().split()) < 5) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert not (tmp_path / "resumed" / "report.json").exists()

    resumed_log = tmp_path / "resumed.log"
    again = {**env, "LOGGED_TASK_LOG": str(resumed_log)}
    assert _eval(tmp_path, "resumed", again, "--resume").wait(timeout=300) == 0
    # 4 chunks were finished before the kill (the 5th stalled): only 5 predict calls remain
    assert len(resumed_log.read_text().split()) == 9 - 4
    assert _report(tmp_path / "resumed") == _report(tmp_path / "whole")
    # the per-item rows too, byte for byte (report.json's items.sha256 says the same)
    items = [(tmp_path / d / "items.jsonl.gz").read_bytes() for d in ("resumed", "whole")]
    assert items[0] == items[1]
    # the report made, the saved chunks are gone: --resume now has nothing to resume
    proc = _eval(tmp_path, "third", again, "--resume")
    assert proc.wait(timeout=300) != 0


class _Crashes(BrightnessTask):
    """Fails on its n-th predict call, as a killed process stops."""

    def __init__(self, fail_at: int = 0) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.seen: list[int] = []

    def predict(self, images: Sequence[np.ndarray]) -> list[float]:
        self.seen.append(len(images))
        if len(self.seen) == self.fail_at:
            raise SrpipeError("stopped")
        return super().predict(images)


class _Renamed(OracleUpscaler):
    """The same images under another weights hash: a changed model."""

    weights_hash = "1" * 64


def test_a_changed_model_invalidates_only_its_saved_predictions(tmp_path: Path) -> None:
    data = make_dataset(6)
    cache = UpscaleCache(tmp_path / "upscaled")

    def run(task: BrightnessTask, upscaler: OracleUpscaler, store: ChunkStore) -> Any:
        return Comparison(
            task, data, sr=[upscaler], compare=["bicubic"], scales=[2], chunk_size=2,
            bootstrap=0, n_crops=0, cache=cache, store=store,
        ).run()  # fmt: skip

    key = {"task": "brightness"}
    store = ChunkStore(tmp_path / "state", key)
    # variants run hr, bicubic, oracle, 3 chunks each: the 9th call (oracle's last) fails
    with pytest.raises(SrpipeError, match="stopped"):
        run(_Crashes(fail_at=9), OracleUpscaler(data.items, 2), store)
    assert len(list((tmp_path / "state").rglob("*.pkl"))) == 8

    again = _Crashes()
    result = run(again, _Renamed(data.items, 2), ChunkStore(tmp_path / "state", key))
    # hr and bicubic reused; the renamed model's 3 chunks predicted afresh
    assert again.seen == [2, 2, 2]
    assert [v.name for v in result.variants[2]] == ["hr", "bicubic", "oracle"]
    assert not list((tmp_path / "state").rglob("*.pkl"))  # removed once the result is made


def test_a_changed_data_file_invalidates_its_chunk(tmp_path: Path) -> None:
    from srpipe.task import Item

    folder = tmp_path / "hr"
    _images(folder, 4)
    items = [Item.from_file(p.stem, p) for p in sorted(folder.glob("*.png"))]
    store = ChunkStore(tmp_path / "state", {"task": "x"})
    variant = Comparison(BrightnessTask(), make_dataset(1), compare=[], sr=[]).variants(2)[0]
    before = [store.key(2, variant, "cpu", s, items[s : s + 2]) for s in (0, 2)]
    time.sleep(0.01)
    write_image(folder / "im03.png", np.zeros((24, 28, 3), np.uint8))
    fresh = ChunkStore(tmp_path / "state", {"task": "x"})
    after = [fresh.key(2, variant, "cpu", s, items[s : s + 2]) for s in (0, 2)]
    assert before[0] == after[0] and before[1] != after[1]
