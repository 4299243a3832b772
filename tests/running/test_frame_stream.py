"""A plain frame source (no pipeline of its own) read in batches into a writer."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from srpipe.running.frame_stream import FrameStream
from srpipe.running.state import RunResult, RunState


class _Source:
    fps, size = 25.0, (4, 4)

    def __init__(self, count: int) -> None:
        self.frame_count = count

    def __iter__(self):
        for index in range(self.frame_count):
            image = np.full((4, 4, 3), index, np.uint8)
            yield SimpleNamespace(index=index, timestamp=index / 25, image=image)


class _Writer:
    def __init__(self) -> None:
        self.written: list[int] = []
        self.closed = self.aborted = False

    def write(self, image: np.ndarray) -> None:
        self.written.append(int(image[0, 0, 0]))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


class _Process:
    """A BatchProcessor stand-in: returns the frames as drawn, or fails at one index.

    ``staged``: it has threads planned, so the stream upscales on the pipeline's prepare
    thread (:meth:`upscale`) and finishes on the main thread (:meth:`finish`).
    """

    scale = 1

    def __init__(self, fail_at: int | None = None, staged: bool = False) -> None:
        self.state = RunState(RunResult("t", "clip", "none", 1, "out"))
        self.batches: list[list[str]] = []
        self.fail_at = fail_at
        self.threads = (1, 1) if staged else None
        self.thread_names: dict[str, set[str]] = {"upscale": set(), "finish": set()}

    def __call__(self, frames):
        return self.finish(self.upscale(frames))

    def upscale(self, frames):
        self.thread_names["upscale"].add(threading.current_thread().name)
        self.batches.append([f.name for f in frames])
        if self.fail_at is not None and any(f.index == self.fail_at for f in frames):
            raise RuntimeError("model fell over")
        return frames

    def finish(self, frames):
        self.thread_names["finish"].add(threading.current_thread().name)
        return [f.image for f in frames]


def _stream(process: _Process) -> FrameStream:
    return FrameStream(Path("clip.avi"), process, batch_size=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("staged", [False, True])
def test_frames_go_through_in_batches_and_the_writer_is_closed(staged: bool) -> None:
    process, writer = _Process(staged=staged), _Writer()
    _stream(process).run(_Source(5), writer, quiet=True)  # type: ignore[arg-type]
    assert process.batches == [
        ["frame_000000", "frame_000001", "frame_000002"], ["frame_000003", "frame_000004"],
    ]  # fmt: skip
    assert writer.written == [0, 1, 2, 3, 4] and writer.closed and not writer.aborted
    main = threading.current_thread().name
    # with threads planned, SR runs beside the task (on the prepare thread), not before it
    upscaled_on = {"srpipe-run-prepare"} if staged else {main}
    assert process.thread_names == {"upscale": upscaled_on, "finish": {main}}


@pytest.mark.parametrize("staged", [False, True])
def test_a_failure_aborts_the_writer(staged: bool) -> None:
    # staged: the error is raised on the prepare thread and must still reach the caller
    process, writer = _Process(fail_at=4, staged=staged), _Writer()
    with pytest.raises(RuntimeError, match="fell over"):
        _stream(process).run(_Source(5), writer, quiet=True)  # type: ignore[arg-type]
    assert writer.aborted and not writer.closed and writer.written == [0, 1, 2]
