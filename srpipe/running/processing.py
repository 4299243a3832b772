"""One batch of frames through ``srpipe run``: upscale, predict, draw, record.

The one step every input kind shares (images, folders, videos whole or in ranges per rank);
the loops that feed it live beside it (:mod:`~srpipe.running.image_batches`,
:mod:`~srpipe.running.frame_stream`). It knows nothing about any task beyond the contract.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.running.state import InputFrame, RowPair, RunState
from srpipe.upscaling.hardware import stage_threads
from srpipe.upscaling.upscaler import Upscaler


@dataclass
class UpscaledBatch:
    """A batch after SR: its frames, the good ones' upscaled images (the rest failed)."""

    frames: list[InputFrame]
    good: list[InputFrame]
    upscaled: list[np.ndarray]


@dataclass
class BatchProcessor:
    """Upscales a batch, lets the task predict and draw, and records into ``state``.

    Two steps, so the pipeline can run them on two threads (SR of the next batch while the
    task predicts this one): :meth:`upscale` and :meth:`finish`; calling the processor runs
    both in turn. With ``stage_cores`` the two steps are meant to run side by side on that
    many torch threads: ``threads`` is then the (SR, task) split, set in whichever thread
    runs each step (torch's thread count is per thread) and re-planned after every batch
    from the stages' measured times (:func:`~srpipe.upscaling.hardware.stage_threads`).
    Without it (or below two), ``threads`` is None: one step after the other on torch's.
    """

    upscaler: Upscaler
    #: a set-up task (a :class:`~srpipe.task.Task`, or anything with its run methods)
    task: Any
    #: the factor frames are upscaled by (1 with ``--sr none``)
    scale: int
    state: RunState
    #: torch threads the two steps share when they run side by side (None: in turn)
    stage_cores: int | None = None

    def __post_init__(self) -> None:
        #: (SR threads, task threads) while the steps run side by side, else None
        self.threads: tuple[int, int] | None = (
            stage_threads(self.stage_cores) if self.stage_cores else None
        )
        # thread-seconds each step has used: its work, whatever threads it was given (its
        # wall time alone would swing the split back and forth as the threads change)
        self._work = {"sr": 0.0, "task": 0.0}

    def __call__(self, batch: list[InputFrame]) -> list[np.ndarray | None]:
        """The annotated frames of ``batch``, in order (None: failed, or context only).

        The two steps in turn in this thread, each on every thread torch has: the split is
        for steps that run side by side (a pipeline's prepare stage), not one after the other.
        """
        planned, self.threads = self.threads, None
        try:
            return self.finish(self.upscale(batch))
        finally:
            self.threads = planned

    def upscale(self, batch: list[InputFrame]) -> UpscaledBatch:
        """Check each frame's size and upscale the good ones as one batch; the failed ones
        are recorded by :meth:`finish`, so a batch upscaled ahead of a stop (Ctrl-C, an
        error) never lists its frames in the run's records."""
        timer = self.state.timer
        for f in batch:
            if f.image is not None and f.error is None:
                f.error = self._too_big(f)
        good = [f for f in batch if f.image is not None and f.error is None]
        if not good:
            return UpscaledBatch(batch, [], [])
        threads = self.threads
        if threads is not None:
            use_threads(threads[0])
        started = time.perf_counter()
        with timer.time("sr"):
            upscaled = self.upscaler.upscale_batch([f.image for f in good])
        if threads is not None:
            self._work["sr"] += (time.perf_counter() - started) * threads[0]
        return UpscaledBatch(batch, good, upscaled)

    def finish(self, done: UpscaledBatch) -> list[np.ndarray | None]:
        """Predict, draw and record an upscaled batch; its frames' outputs, in order."""
        state, timer = self.state, self.state.timer
        for f in done.frames:
            if f.image is None or f.error is not None:
                state.result.failed.append({"input": f.name, "error": f.error or "unreadable"})
        if not done.good:
            return [None] * len(done.frames)
        threads = self.threads
        if threads is not None:
            use_threads(threads[1])
        recorded = [f.index >= state.record_from for f in done.good]
        started = time.perf_counter()
        with timer.time("task"):
            predictions = self.task.predict(done.upscaled)
            drawn = {
                id(f): self.task.draw(image, p)
                for f, image, p, keep in zip(done.good, done.upscaled, predictions, recorded)
                if keep
            }
        for f, prediction, keep in zip(done.good, predictions, recorded):
            if keep:
                state.predictions.append(prediction)
                state.rows.extend(record_rows(self.task, prediction, f, self.scale))
                state.result.frames += 1
        if threads is not None and self.stage_cores is not None:
            self._work["task"] += (time.perf_counter() - started) * threads[1]
            # split again by the work measured so far; the SR thread reads the new plan when
            # it starts its next batch
            sr, task = self._work["sr"], self._work["task"]
            if sr > 0:
                self.threads = stage_threads(self.stage_cores, task / (sr + task))
        return [drawn.get(id(f)) for f in done.frames]

    def _too_big(self, frame: InputFrame) -> str | None:
        """Why ``frame``'s upscaled size is refused (over the pixel limit), or None."""
        height, width = frame.image.shape[:2]
        try:
            self.upscaler.check_output_size(width, height, name=frame.name)
        except SrpipeError as exc:
            return str(exc)
        return None


def use_threads(count: int) -> None:
    """Compute with ``count`` torch threads in the calling thread (a no-op when it does)."""
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


def record_rows(task: Any, prediction: Any, frame: InputFrame, scale: int) -> list[RowPair]:
    """(row in input coordinates, row in upscaled coordinates) for each of a frame's records."""
    rows_sr = task.records(prediction)
    try:
        rows_in = task.records(task.rescale(prediction, 1.0 / scale)) if scale != 1 else rows_sr
    except NotImplementedError:
        rows_in = rows_sr  # a task whose predictions have no coordinates
    pairs = []
    for row_in, row_sr in zip(rows_in, rows_sr):
        row = {"input": frame.name, "frame": frame.index}
        if frame.timestamp is not None:
            row["time_s"] = round(frame.timestamp, 4)
        row.update(row_in)
        pairs.append((row, row_sr))
    return pairs
