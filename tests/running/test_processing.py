"""One batch through SR, the task and drawing: failed frames and context frames."""

from __future__ import annotations

import numpy as np

from srpipe.running.processing import BatchProcessor
from srpipe.running.state import InputFrame, RunResult, RunState
from srpipe.task import Task


class Mean(Task):
    name = "mean"

    def __init__(self) -> None:
        self.seen: list[int] = []

    def predict(self, images):
        self.seen += [image.shape[0] for image in images]
        return [float(image.mean()) for image in images]

    def records(self, prediction):
        return [{"mean": prediction}]

    def draw(self, image, prediction):
        return image + 1


def _processor(task: Task, stage_cores: int | None = None) -> BatchProcessor:
    from srpipe.upscaling.upscaler import Upscaler

    state = RunState(RunResult("mean", "in", "nearest", 2, "out"))
    return BatchProcessor(
        Upscaler("nearest", 2, device="cpu"), task, 2, state, stage_cores=stage_cores
    )


class ThreadsSeen(Mean):
    """The mean task, noting how many torch threads its predict ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: int | None = None

    def predict(self, images):
        import torch

        self.threads = torch.get_num_threads()
        return super().predict(images)


def test_failed_frames_are_listed_and_the_rest_processed() -> None:
    task = Mean()
    processor = _processor(task)
    image = np.full((4, 4, 3), 10, np.uint8)
    batch = [InputFrame(0, "a.png", image), InputFrame(1, "b.png", None, error="truncated")]
    drawn = processor(batch)
    assert drawn[1] is None and drawn[0] is not None and drawn[0].shape == (8, 8, 3)
    assert int(drawn[0][0, 0, 0]) == 11
    assert processor.state.result.failed == [{"input": "b.png", "error": "truncated"}]
    assert processor.state.result.frames == 1 and task.seen == [8]


def test_context_frames_are_predicted_but_not_recorded_or_drawn() -> None:
    task = Mean()
    processor = _processor(task)
    processor.state.record_from = 5
    image = np.zeros((4, 4, 3), np.uint8)
    drawn = processor([InputFrame(4, "frame_000004", image), InputFrame(5, "frame_000005", image)])
    assert task.seen == [8, 8]  # a temporal task sees the frame before its range
    assert drawn[0] is None and drawn[1] is not None
    assert [row["frame"] for row, _ in processor.state.rows] == [5]
    assert processor.state.result.frames == len(processor.state.predictions) == 1


def test_side_by_side_steps_set_their_threads_and_replan_from_the_work_measured() -> None:
    import torch

    from srpipe.upscaling.hardware import stage_threads

    before = torch.get_num_threads()
    task = ThreadsSeen()
    processor = _processor(task, stage_cores=2)
    assert processor.threads == stage_threads(2) == (1, 1)
    try:
        done = processor.upscale([InputFrame(0, "a.png", np.zeros((4, 4, 3), np.uint8))])
        processor.finish(done)
        assert task.threads == 1
        work = processor._work
        assert work["sr"] > 0 and work["task"] > 0
        # the next batch's split follows the thread-seconds each step used so far
        assert processor.threads == stage_threads(2, work["task"] / (work["sr"] + work["task"]))
    finally:
        torch.set_num_threads(before)


def test_steps_in_turn_leave_torch_threads_alone() -> None:
    import torch

    processor = _processor(Mean())
    before = torch.get_num_threads()
    processor([InputFrame(0, "a.png", np.zeros((4, 4, 3), np.uint8))])
    assert processor.threads is None and torch.get_num_threads() == before


def test_a_planned_split_is_not_used_when_the_steps_run_in_turn() -> None:
    # an image folder calls the processor whole: the split is for side-by-side steps only,
    # in turn each step keeps every thread torch has
    import torch

    before = torch.get_num_threads()
    task = ThreadsSeen()
    processor = _processor(task, stage_cores=2)
    planned = processor.threads
    try:
        processor([InputFrame(0, "a.png", np.zeros((4, 4, 3), np.uint8))])
        assert task.threads == before
        assert processor.threads == planned  # the plan stays for a pipeline that stages
    finally:
        torch.set_num_threads(before)


def test_a_batch_upscaled_ahead_lists_its_failures_only_when_finished() -> None:
    # a staged run upscales the next batch before this one is finished; a stop in between
    # must not leave that batch's failed frames in the records of what was done
    processor = _processor(Mean())
    batch = [
        InputFrame(0, "good.png", np.zeros((4, 4, 3), np.uint8)),
        InputFrame(1, "broken.png", None, error="cannot decode"),
    ]
    done = processor.upscale(batch)
    assert processor.state.result.failed == []
    processor.finish(done)
    assert processor.state.result.failed == [{"input": "broken.png", "error": "cannot decode"}]
