"""`srpipe run` on one video under torchrun: frame ranges per rank, stitched by rank 0.

Each rank reopens the video for its range (:func:`~srpipe.distributed.frame_ranges`:
whole batches, with the batches before it that the task needs as context), writes
its frames through the usual frame writer to a part file in a hidden
``.NAME.parts/`` folder beside the output, and sends its records to rank 0, which
joins the parts in frame order (the writer's ``join``: no re-encoding) into the
output, renamed into place when complete. On failure every rank removes its part
and rank 0 the folder: nothing that looks like an output is left.

Why ranges and not frames dealt out one by one: a rank's frames then form one stream that
its decoder seeks to once and its writer encodes, and a temporal task needs only the few
frames before each range.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srpipe.distributed import Workers, frame_ranges
from srpipe.errors import SrpipeError
from srpipe.frames import FrameSource

if TYPE_CHECKING:
    from srpipe.running.runner import RunResult, StageTimer


class FrameShards:
    """One video's frame ranges over the ranks, joined by rank 0 (see the module)."""

    def __init__(
        self,
        ranks: Workers,
        name: str,
        source: FrameSource,
        selection: tuple[int, int],
        video_path: Path,
        batch_size: int,
        *,
        reopen: Callable[[int, int, int], FrameSource],
        open_writer: Callable[[FrameSource, Path], Any],
        run_frames: Callable[[FrameSource, Any, bool], None],
    ) -> None:
        """``reopen(start, end, stride)`` opens the video again for some frames (source
        indices, end exclusive); ``open_writer(frames, path)`` opens the usual frame writer
        at ``path``; ``run_frames(frames, writer, quiet)`` processes ``frames`` into
        ``writer`` and closes it (or aborts it and raises)."""
        self.ranks, self.name, self.source = ranks, name, source
        self.reopen, self.open_writer, self.run_frames = reopen, open_writer, run_frames
        self.selection, self.video_path, self.batch_size = selection, video_path, batch_size
        self.parts = video_path.parent / f".{video_path.name}.parts"
        self.part = self.parts / f"rank{ranks.rank:05d}{video_path.suffix}"
        self.writer: Any = None

    def source_index(self, position: int) -> int:
        """The source frame index of the ``position``-th selected frame."""
        start, stride = self.selection
        return start + position * stride

    def run(
        self,
        context: int,
        context_below: list[int],
        timer: StageTimer,
        result: RunResult,
        quiet: bool,
        records: tuple[list[Any], list[Any]],
    ) -> bool | None:
        """True on rank 0 once stitched, False on the others, None: the writer cannot join.

        ``records`` are the predictions and record rows ``run_frames`` appends to (on rank 0
        they end up holding every rank's, in frame order); ``context_below[0]`` is set to
        the first source index to record (the frames before it are context).
        """
        ranks = self.ranks
        count = self.source.frame_count
        mine = frame_ranges(count, self.batch_size, ranks.world_size, context)[ranks.rank]
        frames: Any = None
        where = (
            f"frames {self.source_index(mine.start)}..{self.source_index(mine.stop - 1)} "
            f"of {self.name}"
            if mine.stop > mine.start
            else f"no frames of {self.name}"
        )

        def open_part() -> None:
            nonlocal frames
            if mine.stop == mine.start:
                return
            stride = self.selection[1]
            end = self.source_index(mine.stop - 1) + 1
            frames = self.reopen(self.source_index(mine.context), end, stride)
            if frames.frame_count != mine.stop - mine.context:
                raise SrpipeError(
                    f"reopening {self.name} at frame {self.source_index(mine.context)} "
                    f"gave {frames.frame_count} frames, not {mine.stop - mine.context}"
                )
            self.parts.mkdir(parents=True, exist_ok=True)
            self.writer = self.open_writer(frames, self.part)

        def run_part() -> None:
            if frames is None:
                return
            context_below[0] = self.source_index(mine.start)
            try:
                quiet_here = quiet or not ranks.is_main  # one progress bar
                self.run_frames(frames, self.writer, quiet_here)
            except Exception:
                # keep the folder: another rank may not have created its part in it yet,
                # and would then fail writing it; ``abandon`` removes it once all stopped
                self.discard(keep_folder=True)
                raise
            except BaseException:
                self.discard()
                raise

        self.ranks.run_share(open_part, lambda: where, on_failure=self.abandon)
        # rank 0 always has frames, so its writer says whether parts can be joined
        if not ranks.broadcast(bool(getattr(self.writer, "joinable", False))):
            self.discard()
            self.finish()
            return None
        self.ranks.run_share(run_part, lambda: where, on_failure=self.abandon)
        parts = ranks.gather(
            (str(getattr(self.writer, "path", self.part)) if frames is not None else None, *records,
             result.failed, dict(timer.seconds), result.frames)
        )  # fmt: skip
        if parts is None:
            return False
        return self.stitch(parts, timer, result, records)

    def abandon(self) -> None:
        """Any rank failed: every rank removes its part, then rank 0 the folder."""
        self.discard()
        self.finish()

    def stitch(
        self,
        parts: list[Any],
        timer: StageTimer,
        result: RunResult,
        records: tuple[list[Any], list[Any]],
    ) -> bool:
        """Rank 0: everyone's records in frame order, the parts joined into the output."""
        all_predictions, all_rows = records
        all_predictions.clear()
        all_rows.clear()
        result.failed, result.frames = [], 0
        timer.seconds.clear()
        files = []
        for part, predictions, rows, failed, seconds, frames in parts:  # rank = frame order
            files += [Path(part)] if part is not None else []
            all_predictions += predictions
            all_rows += rows
            result.failed += failed
            result.frames += frames
            for stage, value in seconds.items():
                timer.add(stage, value)  # compute time summed over ranks, not wall time
        try:
            with timer.time("encode"):
                joined = self.writer.join(files, self.video_path, self.source)
        finally:
            shutil.rmtree(self.parts, ignore_errors=True)
        result.outputs.append(str(joined if joined is not None else self.video_path))
        return True

    def discard(self, keep_folder: bool = False) -> None:
        """Remove this rank's part (finished or not), and the folder when it is empty."""
        if self.writer is not None and not getattr(self.writer, "finished", None):
            with contextlib.suppress(Exception):
                self.writer.abort()
        partial = getattr(self.writer, "partial_path", None)
        for path in (self.part, partial):
            if path is not None:
                Path(path).unlink(missing_ok=True)
        if keep_folder:
            return
        with contextlib.suppress(OSError):
            self.parts.rmdir()  # the last rank to leave it (Ctrl-C: no finish() follows)

    def finish(self) -> None:
        """Once every rank has removed its part, rank 0 removes the folder."""
        self.ranks.barrier()
        if self.ranks.is_main:
            shutil.rmtree(self.parts, ignore_errors=True)
