"""A frame source (video, glob of frames, DICOM series) through ``srpipe run`` into a writer.

Every source goes through the one overlapped pipeline (:mod:`~srpipe.running.pipeline`:
decode, SR + task, and encode overlap in threads, memory bounded). Run whole, a SIGTERM or
Ctrl-C keeps what was done (a playable ``.partial`` video and the records that match it).
Under torchrun :mod:`~srpipe.running.frame_shards` drives the same :class:`FrameStream`
over one range of frames per rank.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from srpipe.errors import SrpipeError
from srpipe.frames import Frame, FrameSource, FrameWriter
from srpipe.plugins import get_plugin_manager
from srpipe.running.inputs import open_input
from srpipe.running.pipeline import run_pipeline
from srpipe.running.processing import BatchProcessor, UpscaledBatch, use_threads
from srpipe.running.records import RunOutputs
from srpipe.running.state import InputFrame, RunState


@dataclass
class FrameStream:
    """How one input's frames go through ``processor``: (re)open, write, loop."""

    input: Path
    processor: BatchProcessor
    batch_size: int

    @property
    def state(self) -> RunState:
        return self.processor.state

    def reopen(self, start: int, end: int, stride: int) -> FrameSource:
        """The input opened again for some frames (source indices, ``end`` exclusive)."""
        source = open_input(self.input, start, end, stride).source
        if source is None:  # the same input opened as a frame source before
            raise SrpipeError(f"{self.input} no longer opens as frames")
        return source

    def open_writer(self, source: FrameSource, path: Path) -> FrameWriter:
        """A ``srpipe_open_frame_writer`` writer for the upscaled frames of ``source``."""
        width, height = source.size
        scale = self.processor.scale
        writer = get_plugin_manager().hook.srpipe_open_frame_writer(
            path=path,
            fps=float(source.fps or 25.0),
            size=(int(width * scale), int(height * scale)),
            source=source,
        )
        if writer is None:
            raise SrpipeError(f"no plugin can write {path.suffix} video; see `srpipe plugins`")
        return writer

    def run(self, source: FrameSource, writer: FrameWriter, quiet: bool = False) -> None:
        """``source``'s frames through the processor into ``writer`` (closed at the end, or
        aborted when anything fails)."""
        # SR on a thread of its own when the processor has threads planned for it
        staged = self.processor.threads is not None
        threads = _torch_threads() if staged else None
        try:
            stats = run_pipeline(
                source,
                self.processor.finish if staged else self._process,
                writer,
                self.batch_size,
                self.state.result.task,
                progress=not quiet,
                prepare_batch=self._upscale if staged else None,
            )
        finally:
            if threads is not None:
                # the split set this thread to the task's share; torch's count is also the
                # default new threads start with, so later work in this process gets it back
                use_threads(threads)
        for stage, seconds in stats.seconds.items():
            self.state.timer.add(stage, seconds)

    def run_whole(
        self, source: FrameSource, outputs: RunOutputs, task: Any, quiet: bool = False
    ) -> None:
        """Every frame of ``source`` into ``outputs.video`` in this process.

        SIGTERM is taken like Ctrl-C: the partial video and the records of the frames done
        are kept, and the process exits 128 + signal (Ctrl-C: KeyboardInterrupt goes on).
        """
        result = self.state.result
        terminated: list[int] = []
        try:
            with _sigterm_as_interrupt(terminated):
                writer = self.open_writer(source, outputs.video)
                # a writer may choose its own file (medical: DICOM/NIfTI, not video)
                result.outputs.append(str(getattr(writer, "path", outputs.video)))
                self.run(source, writer, quiet)
        except KeyboardInterrupt as exc:
            stats = getattr(exc, "stats", None)
            partial = getattr(stats, "output", None)
            result.outputs = [o for o in result.outputs if o != str(outputs.video)]
            if partial:
                result.outputs.append(str(partial))
            result.outputs += [str(p) for p in outputs.record_files]
            result.partial = True
            result.summary = {
                "interrupted": True,
                "signal": terminated[0] if terminated else signal.SIGINT.value,
                "message": str(exc) or "interrupted",
            }
            outputs.write(self.state, task)
            click.echo(f"records of the frames done: {outputs.summary}", err=True)
            if terminated:
                raise SystemExit(128 + terminated[0]) from None
            raise

    def _process(self, frames: list[Frame]) -> list[np.ndarray | None]:
        return self.processor(_wrapped(frames))

    def _upscale(self, frames: list[Frame]) -> UpscaledBatch:
        return self.processor.upscale(_wrapped(frames))


def _wrapped(frames: list[Frame]) -> list[InputFrame]:
    """A source's frames as the frames a run processes."""
    return [InputFrame(f.index, f"frame_{f.index:06d}", f.image, f.timestamp) for f in frames]


@contextlib.contextmanager
def _sigterm_as_interrupt(received: list[int]) -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while frames are processed (a playable partial is kept).

    The signal number is appended to ``received`` so the caller can exit 128 + signal.
    """

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (an embedding application): leave it alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())
