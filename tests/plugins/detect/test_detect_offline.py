"""``import_ultralytics`` leaves the process's threads and its children's environment alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SNIPPET = """
import json, os
before = os.environ.get("OMP_NUM_THREADS")
from srpipe_detect.offline import import_ultralytics
import_ultralytics()
import torch
print(json.dumps({"before": before, "after": os.environ.get("OMP_NUM_THREADS"),
                  "threads": torch.get_num_threads()}))
"""


def _run(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_ultralytics_import_does_not_leave_one_thread_behind() -> None:
    # ultralytics sets OMP_NUM_THREADS=1 on import when it is unset: a torch loaded after
    # it, and every process started after it, would compute on one thread
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    seen = _run(env)
    assert seen["before"] is None and seen["after"] is None
    reference = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert seen["threads"] == int(reference.stdout.strip())


def test_a_users_thread_setting_is_kept() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    seen = _run(env)
    assert seen["before"] == "1" and seen["after"] == "1" and seen["threads"] == 1
