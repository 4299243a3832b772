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
from pathlib import Path
from typing import Any

from srpipe.distributed import FrameRange, Workers, frame_ranges
from srpipe.errors import SrpipeError
from srpipe.frames import FrameSource
from srpipe.running.frame_stream import FrameStream
from srpipe.running.settings import RunSettings
from srpipe.running.state import Handoff, RecordSlice


class FrameShards:
    """One video's frame ranges over the ranks, joined by rank 0 (see the module)."""

    def __init__(
        self,
        ranks: Workers,
        stream: FrameStream,
        source: FrameSource,
        video_path: Path,
        settings: RunSettings,
    ) -> None:
        """``stream`` reopens the video for this rank's range, opens the writer of its part
        and runs the frames through; ``source`` is the whole selection (rank 0 joins into
        ``video_path`` against it); ``settings`` give the selection and the batch size."""
        self.ranks, self.stream, self.source = ranks, stream, source
        self.video_path, self.settings = video_path, settings
        self.name = stream.input.name
        self.parts = video_path.parent / f".{video_path.name}.parts"
        self.part = self.parts / f"rank{ranks.rank:05d}{video_path.suffix}"
        self.writer: Any = None
        #: this rank's range of the selected frames, and those frames reopened (None: none)
        self.range = FrameRange(0, 0, 0)
        self.frames: FrameSource | None = None

    def source_index(self, position: int) -> int:
        """The source frame index of the ``position``-th selected frame."""
        return self.settings.start + position * self.settings.stride

    def run(self, context: int, quiet: bool) -> Handoff:
        """Run this rank's range with ``context`` frames before it; rank 0 stitches.

        WRITE_HERE on rank 0 once stitched (its state then holds every rank's records in
        frame order), LEFT_TO_RANK0 on the others, RUN_WHOLE when the writer cannot join.
        """
        ranks = self.ranks
        count = self.source.frame_count
        self.range = frame_ranges(count, self.settings.batch_size, ranks.world_size, context)[
            ranks.rank
        ]
        ranks.run_share(self.open_part, self.where, on_failure=self.abandon)
        # rank 0 always has frames, so its writer says whether parts can be joined
        if not ranks.broadcast(bool(getattr(self.writer, "joinable", False))):
            self.discard()
            self.finish()
            return Handoff.RUN_WHOLE
        ranks.run_share(lambda: self.run_part(quiet), self.where, on_failure=self.abandon)
        state = self.stream.state
        part = str(getattr(self.writer, "path", self.part)) if self.frames is not None else None
        parts = ranks.gather((part, state.since(), dict(state.timer.seconds)))
        if parts is None:
            return Handoff.LEFT_TO_RANK0
        self.stitch(parts)
        return Handoff.WRITE_HERE

    def where(self) -> str:
        """This rank's frames, for the line naming where it failed."""
        mine = self.range
        if mine.stop == mine.start:
            return f"no frames of {self.name}"
        first, last = self.source_index(mine.start), self.source_index(mine.stop - 1)
        return f"frames {first}..{last} of {self.name}"

    def open_part(self) -> None:
        """Reopen the video for this rank's range (context included); open its part."""
        mine = self.range
        if mine.stop == mine.start:
            return
        first = self.source_index(mine.context)
        end = self.source_index(mine.stop - 1) + 1
        frames = self.stream.reopen(first, end, self.settings.stride)
        if frames.frame_count != mine.stop - mine.context:
            raise SrpipeError(
                f"reopening {self.name} at frame {first} "
                f"gave {frames.frame_count} frames, not {mine.stop - mine.context}"
            )
        self.frames = frames
        self.parts.mkdir(parents=True, exist_ok=True)
        self.writer = self.stream.open_writer(frames, self.part)

    def run_part(self, quiet: bool) -> None:
        """This rank's frames into its part; the context frames are predicted, not recorded."""
        if self.frames is None:
            return
        self.stream.state.record_from = self.source_index(self.range.start)
        try:
            quiet_here = quiet or not self.ranks.is_main  # one progress bar
            self.stream.run(self.frames, self.writer, quiet_here)
        except Exception:
            # keep the folder: another rank may not have created its part in it yet,
            # and would then fail writing it; ``abandon`` removes it once all stopped
            self.discard(keep_folder=True)
            raise
        except BaseException:
            self.discard()
            raise

    def abandon(self) -> None:
        """Any rank failed: every rank removes its part, then rank 0 the folder."""
        self.discard()
        self.finish()

    def stitch(self, parts: list[tuple[str | None, RecordSlice, dict[str, float]]]) -> None:
        """Rank 0: everyone's records in frame order, the parts joined into the output."""
        state = self.stream.state
        # rank order is frame order
        state.replace_records((records for _, records, _ in parts), (s for _, _, s in parts))
        files = [Path(part) for part, _, _ in parts if part is not None]
        try:
            with state.timer.time("encode"):
                joined = self.writer.join(files, self.video_path, self.source)
        finally:
            shutil.rmtree(self.parts, ignore_errors=True)
        state.result.outputs.append(str(joined if joined is not None else self.video_path))

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
