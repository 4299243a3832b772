"""An image or a folder of images through ``srpipe run``, annotated images out.

Under torchrun each rank takes whole batches (the batches one process would make, so every
rank computes the same numbers), writes its annotated images itself, and sends its records
to rank 0, which puts every rank's in input order. Separate from the frame-source loop
because images are read, shared and written one file at a time, a video as one stream.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from srpipe.atomic import is_same_file
from srpipe.distributed import Workers, assign
from srpipe.errors import UsageError
from srpipe.image.io import read_image, write_image
from srpipe.running.inputs import describe_inputs, image_frames
from srpipe.running.processing import BatchProcessor
from srpipe.running.state import Handoff, InputFrame, RecordSlice


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
        state = self.processor.state
        # a task may read its own formats (medical: 16-bit TIFF); tasks not derived from Task
        # may lack the method
        read = getattr(self.processor.task, "read_input", read_image)
        mine = sum(min(self.batch_size, len(self.files) - s) for s in self.share)
        bar = tqdm(
            total=mine, desc=state.result.task, unit="img", disable=quiet or not self.ranks.is_main
        )
        for start in self.share:
            files = self.files[start : start + self.batch_size]
            self.current = [f.name for f in files]
            mark = state.mark()
            batch = list(image_frames(files, state.timer, read, first_index=start))
            self._write_annotated(batch, self.processor(batch))
            if self.ranks.distributed:  # a single process keeps its records where they are
                self.done.append((start, state.since(mark)))
            bar.update(len(batch))
        bar.close()

    def _write_annotated(self, batch: list[InputFrame], images: list[np.ndarray | None]) -> None:
        state = self.processor.state
        with state.timer.time("encode"):
            for frame, image in zip(batch, images):
                if image is None:
                    continue
                target = self.targets[frame.index]
                write_image(target, image)
                state.result.outputs.append(str(target))
