"""The action task against the contract, in eval (labeled and unlabeled) and in run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from action_clips import TINY, moving_frames, write_clip

from srpipe.report import read_item_scores

pytestmark = pytest.mark.usefixtures("action_plugins")


def _options(weights: Path) -> dict:
    return {"classifier": TINY, "weights": str(weights)}


def test_the_task_keeps_the_contract(ucf_dir: Path, tiny_weights: Path) -> None:
    from srpipe_action.task import ActionTask

    from srpipe.testing import check_task

    # two windows of four frames: the last frame of each scores its window
    done = check_task(ActionTask, data=ucf_dir, options=_options(tiny_weights), n=8)
    assert "item_scores / evaluate" in done
    assert check_task(ActionTask, options=_options(tiny_weights), command="run", n=8)


def test_eval_on_a_ucf_folder_counts_groups_as_clusters(
    ucf_dir: Path, tiny_weights: Path, tmp_path: Path
) -> None:
    import srpipe

    result = srpipe.compare(
        "action",
        str(ucf_dir),
        task_options=_options(tiny_weights),
        compare=["bicubic"],
        scales=[2],
        bootstrap=100,
        progress=False,
        out=tmp_path / "report",
    )
    assert result is not None
    assert result.dataset["groups"] == 4  # Left/Right x g01/g02; c01, c02 share a cluster
    assert result.metrics[0] == "video_top1" and "mean_class_accuracy" in result.metrics
    hr, bicubic = result.stats[2]["hr"], result.stats[2]["bicubic"]
    assert hr["top1_agreement"].value.value == 1.0  # HR agrees with itself
    assert hr["flicker"].value.value == 0.0  # HR flickers exactly as HR does
    assert bicubic["flicker"].value.value > 0.0
    # two classes: top-5 cannot fail, so it is not reported as a number
    assert hr["video_top5"].value.value is None or np.isnan(hr["video_top5"].value.value)
    rows = read_item_scores(tmp_path / "report" / "report.json")["x2"]["bicubic"]
    scored = [r for r in rows if "clip_top1" in r["scores"]]
    assert len(scored) == 16  # 8 videos x 2 windows, scored on their last frame
    assert all(len(r["prediction"]) == 2 for r in scored)  # top-5 of two classes


def test_unlabeled_clips_are_scored_by_agreement_not_accuracy(
    tiny_weights: Path, tmp_path: Path
) -> None:
    import srpipe

    for name, direction in (("a", 1), ("b", -1)):
        write_clip(tmp_path / "clips" / f"{name}.mp4", moving_frames(10, direction))
    result = srpipe.compare(
        "action",
        str(tmp_path / "clips"),
        task_options=_options(tiny_weights),
        compare=["bicubic"],
        scales=[2],
        bootstrap=50,
        progress=False,
    )
    assert result is not None
    assert result.metrics == ("top1_agreement", "top5_overlap", "flicker")
    assert not any("top1" in m and "agreement" not in m for m in result.metrics)
    assert "not accuracy" in result.dataset["description"]


def test_limit_keeps_whole_videos(ucf_dir: Path, tiny_weights: Path) -> None:
    from srpipe_action.task import ActionTask

    from srpipe.errors import UsageError
    from srpipe.task import TaskContext

    def context(limit: int) -> TaskContext:
        return TaskContext("eval", device="cpu", scales=(2,), limit=limit, options=options)

    options = _options(tiny_weights)
    task = ActionTask()
    task.setup(context(20))
    dataset = task.load_dataset(str(ucf_dir))
    assert len(dataset) == 16  # two videos of 2 windows x 4 frames fit in 20 frames
    assert {i.target for i in dataset.items} == {"Left", "Right"}
    task.setup(context(5))
    with pytest.raises(UsageError, match="less than one video"):
        task.load_dataset(str(ucf_dir))


def test_run_writes_windowed_predictions_with_times(tiny_weights: Path, tmp_path: Path) -> None:
    import srpipe

    clip = write_clip(tmp_path / "clip.mp4", moving_frames(20, 1), fps=10.0)
    result = srpipe.run(
        "action",
        clip,
        sr="bicubic",
        scale=2,
        out=tmp_path / "out",
        classifier=TINY,
        weights=tiny_weights,
        input_fps=10.0,
        top_k=2,
    )
    # 10 fps input, a 5 fps classifier: every 2nd frame; 4 frames a window, half a window apart
    assert result.summary["windows"] == 4 and result.summary["frame_step"] == 2
    assert sorted(t["label"] for t in result.summary["top"]) == ["class_0", "class_1"]
    assert set(result.seconds) >= {"sr", "task"}
    records = json.loads((tmp_path / "out" / "records.json").read_text())
    assert [r["frame"] for r in records if r["rank"] == 1] == [6, 10, 14, 18]
    assert [r["time_s"] for r in records if r["rank"] == 1] == [0.6, 1.0, 1.4, 1.8]
    assert {r["rank"] for r in records} == {1, 2}
    first = records[0]
    assert first["window_frames_back"] == 6 and first["window_seconds"] == 0.6
    csv = (tmp_path / "out" / "records.csv").read_text().splitlines()
    assert csv[0].startswith("input,frame,time_s,window") and len(csv) == 9
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["summary"]["classifier"] == TINY
    assert any(o.endswith(".mp4") for o in result.outputs)


def test_draw_writes_the_latest_label(tiny_weights: Path) -> None:
    from srpipe_action.sampling import WindowResult
    from srpipe_action.task import ActionTask, RunFrame

    from srpipe.task import TaskContext

    task = ActionTask()
    task.setup(TaskContext("run", device="cpu", options=_options(tiny_weights)))
    image = np.full((48, 64, 3), 128, np.uint8)
    assert task.draw(image, RunFrame(None, None)) is image
    window = WindowResult(0, 0, 6, np.array([0.3, 0.7]))
    drawn = task.draw(image, RunFrame(None, window))
    assert drawn.shape == image.shape and (drawn != image).any()
    assert (image == 128).all()  # the input is not drawn on


def test_eval_offline_measures_the_camera_motion_test_split(tmp_path: Path) -> None:
    from srpipe_action.camera_motion import CAMERA_MOTIONS, CLIP_FRAMES

    import srpipe

    # the defaults: the bundled camera-motion classifier on the packaged set's test split
    result = srpipe.compare(
        "action",
        None,
        compare=["bicubic"],
        scales=[4],
        limit=7 * CLIP_FRAMES,
        bootstrap=100,
        progress=False,
        out=tmp_path / "report",
    )
    assert result is not None
    data = result.dataset
    assert data["name"] == "camera-motion/test" and data["items"] == 7 * CLIP_FRAMES
    assert "labels by construction" in data["description"]
    hr, bicubic = result.stats[4]["hr"], result.stats[4]["bicubic"]
    assert hr["flicker"].value.value == 0.0 and bicubic["flicker"].value.value > 0.0
    rows = read_item_scores(tmp_path / "report" / "report.json")["x4"]["hr"]
    scored = [r for r in rows if "clip_top1" in r["scores"]]
    assert sorted(r["prediction"][0][0] in CAMERA_MOTIONS for r in scored) == [True] * 7


def test_a_limit_below_one_clip_of_the_packaged_set_is_refused() -> None:
    from srpipe_action.task import ActionTask

    from srpipe.errors import UsageError
    from srpipe.task import TaskContext

    task = ActionTask()
    task.setup(TaskContext("eval", device="cpu", scales=(4,), limit=4, options={}))
    with pytest.raises(UsageError, match="less than one clip"):
        task.load_dataset(None)


def test_a_rank_that_did_not_read_the_set_names_generic_classes_from_its_index(
    ucf_dir: Path, tiny_weights: Path
) -> None:
    # under torchrun only rank 0 reads the set; every rank scores its share, so each must
    # name the weights' class_* outputs after the data's classes from the shared index
    from srpipe_action.task import ActionTask, _normal

    from srpipe.task import TaskContext
    from srpipe.testing import _option_defaults

    def set_up() -> ActionTask:
        task = ActionTask()
        options = {**_option_defaults(ActionTask, "eval"), **_options(tiny_weights)}
        task.setup(TaskContext("eval", device="cpu", scales=(2,), options=options))
        return task

    reader, other = set_up(), set_up()
    dataset = reader.load_dataset(str(ucf_dir))
    assert other.classifier.categories == ("class_0", "class_1")
    other.use_dataset(dataset)
    assert other.classifier.categories == reader.classifier.categories
    assert set(other.classifier.categories) == set(dataset.meta["class_names"])
    item = next(i for i in dataset.items if i.target is not None)
    assert other._label_index == reader._label_index
    assert _normal(item.target) in other._label_index
