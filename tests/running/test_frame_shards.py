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


def test_a_failing_rank_keeps_the_parts_folder_until_every_rank_stopped(tmp_path: Path) -> None:
    video = tmp_path / "long.mp4"
    frames = SimpleNamespace(frame_count=4)
    ranks = _SecondRank(tmp_path / ".long.mp4.parts")

    def run_frames(frames: Any, writer: _Writer, quiet: bool) -> None:
        writer.partial_path.write_bytes(b"half a video")
        raise RuntimeError("the tracker fell over")

    shards = FrameShards(
        ranks, "long.mp4", frames, (0, 1), video, 2,  # type: ignore[arg-type]
        reopen=lambda start, end, stride: SimpleNamespace(frame_count=end - start),
        open_writer=lambda frames, path: _Writer(path),
        run_frames=run_frames,
    )  # fmt: skip
    failure = re.escape("rank 1 failed: frames 2..3 of long.mp4: RuntimeError")
    with pytest.raises(SrpipeError, match=failure):
        shards.run(0, [0], SimpleNamespace(), SimpleNamespace(), True, ([], []))  # type: ignore[arg-type]
    # rank 0 could still write into the folder when rank 1 had failed ...
    assert ranks.folder_when_rank0_wrote == [True]
    # ... and once every rank stopped, nothing was left
    assert list(tmp_path.iterdir()) == []
