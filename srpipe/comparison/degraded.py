"""The dataset at one scale, a chunk at a time: HR decoded, cropped to the scale, degraded.

The protocol's degradation (modcrop + MATLAB bicubic 1/scale, :func:`srpipe.image.resize.degrade`)
is the first step of every scale and the only one that makes LR pixels; every variant starts
from what it leaves here. Items arrive described (:attr:`srpipe.task.Item.load`) or decoded;
a chunk's HR images are decoded when the chunk is scored and dropped after, so memory depends
on the chunk, not on the number of items. A bounded prefetch decodes and degrades the next
chunk on a worker thread while the current one is upscaled and predicted (decoding and the
resize release the GIL). Under torchrun a rank decodes only its own chunks (and rank 0 the
few items the report's crops show).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from srpipe.comparison.journal import Journal
from srpipe.errors import SrpipeError
from srpipe.image.resize import degrade, modcrop
from srpipe.task import Item


@dataclass
class PreparedChunk:
    """Items ``start..end`` decoded at one scale, with their LR images."""

    start: int
    end: int
    #: HR cropped to a multiple of the scale (views), ``meta["scale"]`` set
    items: list[Item]
    #: the LR images; ``None`` each for a variant that needs none (HR: no degrade)
    lrs: list[np.ndarray | None]


@dataclass
class DegradedSet:
    """Every item at one scale, described; this rank's chunks are decoded when asked for."""

    scale: int
    #: the dataset's items as the reader gave them (described or decoded)
    originals: Sequence[Item]
    #: this rank's chunks ``(start, end)`` of item indices, in item order
    chunks: Sequence[tuple[int, int]]
    #: chunks decoded ahead of the one being scored (0: none, decode in turn)
    prefetch: int = 1

    @cached_property
    def items(self) -> list[Item]:
        """Every item as ``Task.evaluate`` gets it: described, ``meta["scale"]`` set."""
        return [described_at_scale(item, self.scale) for item in self.originals]

    def indices(self) -> list[int]:
        """The item indices of this rank's chunks, in order."""
        return [i for start, end in self.chunks for i in range(start, end)]

    def prepare(self, start: int, end: int, with_lr: bool = True) -> PreparedChunk:
        """Items ``start..end`` decoded, cropped to the scale and (``with_lr``) degraded."""
        items: list[Item] = []
        lrs: list[np.ndarray | None] = []
        for original in self.originals[start:end]:
            if with_lr:
                item, lr = prepare_item(original, self.scale)
            else:
                item, lr = at_scale(decode_item(original), self.scale), None
            items.append(item)
            lrs.append(lr)
        return PreparedChunk(start, end, items, lrs)

    def item(self, index: int) -> tuple[Item, np.ndarray]:
        """One item decoded at the scale and its LR image (the report's crops)."""
        return prepare_item(self.originals[index], self.scale)

    def prepared(
        self, chunks: Sequence[tuple[int, int]], journal: Journal, with_lr: bool = True
    ) -> Iterator[PreparedChunk]:
        """``chunks`` prepared in order, up to :attr:`prefetch` of them ahead on a thread.

        Before each chunk is handed over, ``journal.working_on`` names its items, so a
        failure to decode or degrade names them as a failure in scoring does.
        """
        if self.prefetch <= 0:
            for start, end in chunks:
                journal.working_on = [item.id for item in self.originals[start:end]]
                yield self.prepare(start, end, with_lr)
            return
        pending: list[Future[PreparedChunk]] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="srpipe-prefetch") as pool:
            queue = iter(chunks)
            try:
                for chunk in queue:
                    pending.append(pool.submit(self.prepare, *chunk, with_lr))
                    if len(pending) > self.prefetch:
                        yield self._handed_over(pending.pop(0), journal)
                while pending:
                    yield self._handed_over(pending.pop(0), journal)
            finally:
                for future in pending:  # stopped early (an error, a skipped variant)
                    future.cancel()

    def _handed_over(self, future: Future[PreparedChunk], journal: Journal) -> PreparedChunk:
        chunk = future.result()
        journal.working_on = [item.id for item in chunk.items]
        return chunk


def prepare_item(item: Item, scale: int) -> tuple[Item, np.ndarray]:
    """``item`` decoded and cropped to a multiple of ``scale``, and its LR image."""
    decoded = decode_item(item)
    return at_scale(decoded, scale), degrade_item(decoded, scale)


def decode_item(item: Item) -> Item:
    """``item`` holding its HR image (decoded now if described); an error names the item."""
    try:
        hr = item.hr_image()
    except SrpipeError as exc:
        raise SrpipeError(f"item {item.id!r}: {exc}") from None
    return dataclasses.replace(item, image=hr)


def at_scale(item: Item, scale: int) -> Item:
    """The item as scored at ``scale``: HR cropped to a multiple of it (a view, no copy)."""
    return dataclasses.replace(
        item, image=modcrop(item.hr_image(), scale), meta={**item.meta, "scale": scale}
    )


def described_at_scale(item: Item, scale: int) -> Item:
    """The item's description at ``scale``: no pixels, the cropped size, ``meta["scale"]``."""
    size = item.pixel_size()
    if size is not None:
        size = (size[0] - size[0] % scale, size[1] - size[1] % scale)
    if item.image is not None:
        return at_scale(item, scale)  # an eager item keeps its (view of the) pixels
    return dataclasses.replace(item, size=size, meta={**item.meta, "scale": scale})


def degrade_item(item: Item, scale: int) -> np.ndarray:
    """The LR image of ``item``; an error names the item.

    ``degrade`` crops by itself: given the uncropped HR, its errors name the real size.
    """
    try:
        return degrade(item.hr_image(), scale)
    except SrpipeError as exc:
        raise SrpipeError(f"item {item.id!r}: {exc}") from None
