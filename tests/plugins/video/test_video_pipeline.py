"""The run pipeline on video: order, bounded memory, errors and Ctrl-C with a playable partial."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from srpipe_video.frames import Frame, FrameSequence
from srpipe_video.writer import FrameWriter
from video_clips import SIZE, synthetic_frame

from srpipe.errors import SrpipeError
from srpipe.running.pipeline import RunInterrupted, run_pipeline


class CountingSource:
    """A lazy source of tiny frames that counts how many have been decoded so far."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.frame_count = count
        self.fail_at = fail_at
        self.decoded = 0

    def __iter__(self):
        for i in range(self.frame_count):
            if i == self.fail_at:
                raise SrpipeError("clip.mp4: corrupt video data after frame 4")
            self.decoded += 1
            yield Frame(i, i / 10, np.full((4, 4, 3), i % 256, np.uint8))


class ListWriter:
    """Records what it is given; close/abort like a real writer."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, float | None]] = []
        self.state = "open"

    def write(self, image: np.ndarray, timestamp: float | None = None) -> None:
        self.frames.append((int(image[0, 0, 0]), timestamp))

    def close(self) -> str:
        self.state = "closed"
        return "out.mp4"

    def abort(self) -> str:
        self.state = "aborted"
        return "out.partial.mp4"


def test_frames_come_out_in_order_in_batches():
    source, writer, sizes = CountingSource(23), ListWriter(), []

    def process(batch):
        sizes.append(len(batch))
        return [f.image for f in batch]

    stats = run_pipeline(source, process, writer, batch_size=4, progress=False)
    assert writer.frames == [(i, i / 10) for i in range(23)]
    assert sizes == [4, 4, 4, 4, 4, 3]
    assert writer.state == "closed" and stats.output == "out.mp4"
    assert (stats.frames_read, stats.frames_written, stats.interrupted) == (23, 23, False)


def test_none_outputs_are_skipped_and_writers_without_timestamps_work():
    class PlainWriter(ListWriter):
        def write(self, image):  # the minimal contract: write(rgb)
            self.frames.append((int(image[0, 0, 0]), None))

    writer = PlainWriter()
    run_pipeline(
        CountingSource(6),
        lambda batch: [f.image if f.index % 2 else None for f in batch],
        writer,
        batch_size=4,
        progress=False,
    )
    assert writer.frames == [(1, None), (3, None), (5, None)]


def test_memory_is_bounded_by_the_queues():
    """A slow processing stage must not let the decoder read the whole video ahead."""
    source = CountingSource(400)
    ahead = []

    def process(batch):
        ahead.append(source.decoded - batch[-1].index - 1)  # frames decoded beyond this batch
        return [f.image for f in batch]

    stats = run_pipeline(source, process, ListWriter(), batch_size=4, queue_size=2, progress=False)
    assert stats.frame_bound == (2 * 2 + 3) * 4
    assert 0 < stats.max_frames_in_flight <= stats.frame_bound
    # decoder at most: the decoded queue (2 batches) + the batch it is filling
    assert max(ahead) <= (2 + 1) * 4
    assert stats.frames_written == 400


def test_process_errors_abort_the_writer_and_propagate():
    writer = ListWriter()

    def process(batch):
        if batch[0].index >= 8:
            raise RuntimeError("model crashed")
        return [f.image for f in batch]

    with pytest.raises(RuntimeError, match="model crashed"):
        run_pipeline(CountingSource(20), process, writer, batch_size=4, progress=False)
    assert writer.state == "aborted"
    assert [i for i, _ in writer.frames] == list(range(8))  # what was processed is written


def test_decode_errors_propagate_as_srpipe_errors():
    writer = ListWriter()
    with pytest.raises(SrpipeError, match="corrupt"):
        run_pipeline(
            CountingSource(20, fail_at=5),
            lambda b: [f.image for f in b],
            writer,
            batch_size=2,
            progress=False,
        )
    assert writer.state == "aborted"


def test_wrong_number_of_outputs_is_an_error():
    with pytest.raises(ValueError, match="returned 1 images for 4 frames"):
        run_pipeline(
            CountingSource(8), lambda b: [b[0].image], ListWriter(), batch_size=4, progress=False
        )


def test_ctrl_c_leaves_a_playable_partial_and_says_how_far(tmp_path, cv2_video, capsys):
    source = FrameSequence(cv2_video("clip.mp4", count=20))
    out = tmp_path / "up.mp4"
    writer = FrameWriter(out, source.fps, (SIZE[0] * 2, SIZE[1] * 2), source)
    calls = []

    def process(batch):
        calls.append(batch[0].index)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return [np.repeat(np.repeat(f.image, 2, 0), 2, 1) for f in batch]

    with pytest.raises(RunInterrupted) as excinfo:
        run_pipeline(source, process, writer, batch_size=4, progress=False)
    stats = excinfo.value.stats
    assert isinstance(excinfo.value, KeyboardInterrupt)
    assert stats.interrupted and stats.partial and stats.frames_written == 8
    assert not out.exists() and stats.output == str(tmp_path / "up.partial.mp4")
    partial = FrameSequence(stats.output)
    assert partial.frame_count == 8 and partial.size == (SIZE[0] * 2, SIZE[1] * 2)
    for frame in partial:  # the processed frames, in order
        expected = np.repeat(np.repeat(synthetic_frame(frame.index), 2, 0), 2, 1)
        assert np.abs(frame.image.astype(int) - expected).mean() < 8
    err = capsys.readouterr().err
    assert "interrupted after 8 of 20 frames" in err and "up.partial.mp4" in err
    assert not [t for t in threading.enumerate() if t.name.startswith("srpipe-run")]


def test_a_frame_sequence_through_the_pipeline_into_its_writer(tmp_path, cv2_video):
    source = FrameSequence(cv2_video("clip.mp4", count=6))
    writer = FrameWriter(tmp_path / "same.mp4", source.fps, source.size, source)
    stats = run_pipeline(source, lambda b: [f.image for f in b], writer, 4, progress=False)
    assert stats.frames_written == 6 and set(stats.seconds) == {"decode", "encode"}
    assert FrameSequence(tmp_path / "same.mp4").frame_count == 6
