"""An image or a folder of images through ``srpipe run``, annotated images out.

Under torchrun each rank takes whole batches (the batches one process would make, so every
rank computes the same numbers), writes its annotated images itself, and sends its records
to rank 0, which puts every rank's in input order. Separate from the frame-source loop
because images are read, shared and written one file at a time, a video as one stream; both
go through the same overlapped pipeline (:mod:`~srpipe.running.pipeline`): files are read
ahead and annotated images written behind while SR and the task run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import numpy as np

from srpipe.atomic import is_same_file
from srpipe.distributed import Workers, assign
from srpipe.errors import UsageError
from srpipe.image.io import read_image, write_image
from srpipe.running.inputs import describe_inputs, image_frames
from srpipe.running.pipeline import run_pipeline
from srpipe.running.processing import BatchProcessor
from srpipe.running.state import Handoff, InputFrame, RecordSlice, RunState


def annotated_targets(files: list[Path], annotated: Path) -> tuple[list[Path], list[str]]:
    """Where each input's annotated image goes, and one line per name clash resolved.

    TIFF in, TIFF out (a 16-bit scan stays a 16-bit TIFF); anything else becomes PNG, so
    ``a.png`` and ``a.jpg`` would both be ``a.png``: clashing inputs keep their own suffix in
    the name (``a_png.png``, ``a_jpg.png``) instead of overwriting each other. Planned from
    the whole list, so every rank under torchrun names the same file the same way.
    """

    def natural(path: Path) -> Path:
        tiff = path.suffix.lower() in (".tif", ".tiff")
        return annotated / (path.stem + (path.suffix if tiff else ".png"))

    wanted = [natural(f) for f in files]
    counts = Counter(wanted)
    taken = {w for w in wanted if counts[w] == 1}
    targets: list[Path] = []
    for path, want in zip(files, wanted):
        if counts[want] == 1:
            targets.append(want)
            continue
        tag = path.suffix.lstrip(".").lower() or "noext"
        candidate, n = annotated / f"{path.stem}_{tag}{want.suffix}", 2
        while candidate in taken:
            candidate, n = annotated / f"{path.stem}_{tag}_{n}{want.suffix}", n + 1
        taken.add(candidate)
        targets.append(candidate)
    notes = []
    for want, count in counts.items():
        if count > 1:
            names = [t.name for t, w in zip(targets, wanted) if w == want]
            notes.append(
                f"{count} inputs would each be annotated/{want.name}; written as "
                + ", ".join(names)
            )
    return targets, notes


class ImageBatches:
    """This rank's batches of ``files`` through ``processor`` into ``folder/annotated``."""

    def __init__(
        self,
        files: list[Path],
        processor: BatchProcessor,
        folder: Path,
        batch_size: int,
        ranks: Workers,
    ) -> None:
        self.files, self.processor = files, processor
        self.batch_size, self.ranks = batch_size, ranks
        self.annotated = folder / "annotated"
        self.targets, clashes = annotated_targets(files, self.annotated)
        for source, target in zip(files, self.targets):
            if is_same_file(source, target):
                raise UsageError(
                    f"{target} would replace the input {source}; choose another -o folder"
                )
        if ranks.is_main:
            for line in clashes:
                click.echo(f"srpipe: {line}", err=True)
        starts = range(0, len(files), batch_size)
        #: the first file of each of this rank's batches
        self.share = [starts[u] for u in assign([1.0] * len(starts), ranks.world_size)[ranks.rank]]
        #: the files being processed now, to name them if this rank fails
        self.current: list[str] = []
        #: (first file, its batch's records) for each batch done, for rank 0 to put in order
        self.done: list[tuple[int, RecordSlice]] = []

    def run(self, quiet: bool) -> Handoff:
        """Process this rank's share; under torchrun rank 0 then holds everyone's records."""
        self.ranks.run_share(lambda: self._run_share(quiet), lambda: describe_inputs(self.current))
        if not self.ranks.distributed:
            return Handoff.WRITE_HERE
        state = self.processor.state
        parts = self.ranks.gather((self.done, dict(state.timer.seconds)))
        if parts is None:
            return Handoff.LEFT_TO_RANK0
        batches = sorted((batch for done, _ in parts for batch in done), key=lambda b: b[0])
        state.replace_records((records for _, records in batches), (s for _, s in parts))
        return Handoff.WRITE_HERE

    def _run_share(self, quiet: bool) -> None:
        """This rank's batches through the overlapped pipeline: files are read ahead and
        annotated images written behind while the main thread upscales and predicts."""
        state = self.processor.state
        # a task may read its own formats (medical: 16-bit TIFF); tasks not derived from Task
        # may lack the method
        read = getattr(self.processor.task, "read_input", read_image)
        batches = _ShareBatches(
            [self.files[start : start + self.batch_size] for start in self.share],
            self.share,
            lambda files, start: list(image_frames(files, state.timer, read, first_index=start)),
        )
        writer = _AnnotatedWriter(self.targets, state)
        run_pipeline(
            batches,
            self._process,
            writer,
            self.batch_size,
            state.result.task,
            progress=not quiet and self.ranks.is_main,
            batched=True,
        )
        if not self.ranks.distributed:
            state.result.outputs += [writer.written[i] for i in sorted(writer.written)]
            return
        # under torchrun each batch's records carry the files it wrote, for rank 0's order
        for start, records in self.done:
            end = start + self.batch_size
            records.outputs = [writer.written[i] for i in range(start, end) if i in writer.written]

    def _process(self, batch: list[InputFrame]) -> list[np.ndarray | None]:
        state = self.processor.state
        self.current = [f.name for f in batch]
        mark = state.mark()
        images = self.processor(batch)
        if self.ranks.distributed:  # a single process keeps its records where they are
            self.done.append((batch[0].index, state.since(mark)))
        return images


class _ShareBatches:
    """A rank's batches of files, read as frames when the pipeline's reader asks for them."""

    def __init__(
        self,
        files: list[list[Path]],
        starts: list[int],
        read: Callable[[list[Path], int], list[InputFrame]],
    ) -> None:
        self.files, self.starts, self.read = files, starts, read
        #: for the progress bar
        self.frame_count = sum(len(f) for f in files)

    def __iter__(self) -> Iterator[list[InputFrame]]:
        for files, start in zip(self.files, self.starts):
            yield self.read(files, start)


class _AnnotatedWriter:
    """Writes each annotated frame to its planned file (atomically), from the pipeline's
    writer thread; ``written`` maps frame index to path."""

    def __init__(self, targets: list[Path], state: RunState) -> None:
        self.targets, self.state = targets, state
        self.written: dict[int, str] = {}

    def write_frame(self, frame: InputFrame, image: np.ndarray) -> None:
        with self.state.timer.time("encode"):
            target = self.targets[frame.index]
            write_image(target, image)
            self.written[frame.index] = str(target)

    def close(self) -> None:
        """Every file is complete when written: nothing to finish."""

    def abort(self) -> None:
        """Files already written are whole (atomic writes) and stay listed."""
