"""Fixtures for the detect plugin: a tiny generated dataset and an untrained YOLOv8n."""

from __future__ import annotations

from pathlib import Path

import pytest
from srpipe_detect.synth import SynthConfig, generate


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 train + 2 val + 2 test images of 96 px in YOLO format (about a second to make)."""
    cfg = SynthConfig(train=3, val=2, test=2, size=96, min_objects=2, max_objects=4)
    return generate(tmp_path_factory.mktemp("synth") / "tiny", cfg)


@pytest.fixture(scope="session")
def untrained_task():
    """DetectTask with an untrained yolov8n built from ultralytics' yaml (no download)."""
    from srpipe_detect.task import DetectTask

    from srpipe.task import TaskContext

    task = DetectTask()
    options = {"detector": "yolov8n.yaml", "conf": 0.0}
    task.setup(TaskContext("run", device="cpu", options=options))
    return task
