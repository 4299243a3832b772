"""srpipe.running.pipeline: batched sources and frame-aware writers (video cases live in
tests/plugins/video/test_video_pipeline.py)."""

from __future__ import annotations

import threading

import numpy as np

from srpipe.running.pipeline import run_pipeline
from srpipe.running.state import InputFrame


class FrameFiles:
    """A writer that is given the frame: records (index, value) from the writer thread."""

    def __init__(self) -> None:
        self.written: list[tuple[int, int]] = []
        self.threads: set[str] = set()
        self.closed = False

    def write_frame(self, frame: InputFrame, image: np.ndarray) -> None:
        self.threads.add(threading.current_thread().name)
        self.written.append((frame.index, int(image[0, 0, 0])))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        raise AssertionError("nothing failed")


def test_batches_are_processed_as_given_and_each_frame_reaches_the_writer() -> None:
    # uneven batches, as a rank's share of a folder can be: they must not be re-cut
    sizes = [4, 4, 1]
    batches, index = [], 0
    for size in sizes:
        batches.append(
            [InputFrame(index + k, f"f{index + k}", np.full((2, 2, 3), index + k, np.uint8))
             for k in range(size)]
        )  # fmt: skip
        index += size
    seen: list[int] = []

    def process(batch: list[InputFrame]) -> list[np.ndarray | None]:
        seen.append(len(batch))
        return [None if f.index == 5 else f.image * 2 for f in batch]

    writer = FrameFiles()
    stats = run_pipeline(iter(batches), process, writer, 4, progress=False, batched=True)
    assert seen == sizes and writer.closed
    assert writer.written == [(i, 2 * i) for i in range(9) if i != 5]
    assert writer.threads == {"srpipe-run-write"}
    assert stats.frames_read == 9 and stats.frames_written == 8
