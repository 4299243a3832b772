"""FrameShards' clean-up order, with a stand-in for the other rank (no process group)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from srpipe.distributed import Workers, one_line
from srpipe.errors import SrpipeError
from srpipe.running.frame_shards import FrameShards
from srpipe.running.settings import RunSettings
from srpipe.running.state import RunResult, RunState


class _SecondRank(Workers):
    """Rank 1 of 2; after its own work, rank 0 (still running) writes its part."""

    def __init__(self, parts: Path) -> None:
        super().__init__(rank=1, world_size=2)
        self.parts = parts
        self.folder_when_rank0_wrote: list[bool] = []

    def run_share(
        self,
        work: Callable[[], Any],
        where: Callable[[], str],
        on_failure: Callable[[], None] | None = None,
    ) -> Any:
        try:
            return work()
        except Exception as exc:
            # the slower rank 0 now writes its first frames into the shared folder
            self.folder_when_rank0_wrote.append(self.parts.is_dir())
            if on_failure is not None:  # as Workers.run_share: once every rank has stopped
                on_failure()
            raise SrpipeError(f"rank 1 failed: {where()}: {one_line(exc)}") from exc

    def broadcast(self, value: Any) -> Any:
        return True  # rank 0's writer can join parts

    def barrier(self) -> None:
        pass


class _Writer:
    joinable, finished = True, False

    def __init__(self, path: Path) -> None:
        self.path, self.partial_path = path, path.with_suffix(".partial.mp4")

    def abort(self) -> None:
        self.partial_path.unlink(missing_ok=True)


class _Stream:
    """A FrameStream stand-in: reopens by counting, fails after writing half a part."""

    def __init__(self, input: Path) -> None:
        self.input = input
        self.state = RunState(RunResult("t", str(input), "none", 1, str(input)))
        self.reopened: list[tuple[int, int, int]] = []

    def reopen(self, start: int, end: int, stride: int) -> Any:
        self.reopened.append((start, end, stride))
        return SimpleNamespace(frame_count=len(range(start, end, stride)))

    def open_writer(self, frames: Any, path: Path) -> _Writer:
        return _Writer(path)

    def run(self, frames: Any, writer: _Writer, quiet: bool) -> None:
        writer.partial_path.write_bytes(b"half a video")
        raise RuntimeError("the tracker fell over")


def test_a_failing_rank_keeps_the_parts_folder_until_every_rank_stopped(tmp_path: Path) -> None:
    video = tmp_path / "long.mp4"
    stream = _Stream(video)
    ranks = _SecondRank(tmp_path / ".long.mp4.parts")
    whole = SimpleNamespace(frame_count=4)
    shards = FrameShards(ranks, stream, whole, video, RunSettings(batch_size=2))  # type: ignore[arg-type]
    failure = re.escape("rank 1 failed: frames 2..3 of long.mp4: RuntimeError")
    with pytest.raises(SrpipeError, match=failure):
        shards.run(0, quiet=True)
    # rank 0 could still write into the folder when rank 1 had failed ...
    assert ranks.folder_when_rank0_wrote == [True]
    # ... and once every rank stopped, nothing was left
    assert list(tmp_path.iterdir()) == []


def test_a_rank_reopens_its_range_with_the_context_before_it(tmp_path: Path) -> None:
    video = tmp_path / "long.mp4"
    stream = _Stream(video)
    # frames 10, 13, ... 31 selected (8 frames); rank 1 records positions 4..7 and, with one
    # frame of context, decodes from position 2 (whole batches of 2)
    settings = RunSettings(batch_size=2, start=10, stride=3)
    shards = FrameShards(
        _SecondRank(tmp_path / ".long.mp4.parts"), stream, SimpleNamespace(frame_count=8),  # type: ignore[arg-type]
        video, settings,
    )  # fmt: skip
    with pytest.raises(SrpipeError, match=re.escape("frames 22..31 of long.mp4")):
        shards.run(1, quiet=True)
    assert stream.reopened == [(16, 32, 3)]
    # the context frames are predicted but not recorded
    assert stream.state.record_from == 22
