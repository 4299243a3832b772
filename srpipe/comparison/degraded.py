"""The dataset at one scale: HR cropped to a multiple of it, and this rank's LR images.

The protocol's degradation (modcrop + MATLAB bicubic 1/scale, :func:`srpipe.image.resize.degrade`)
is the first step of every scale and the only one that makes LR pixels; every variant starts
from what it leaves here. Under torchrun a rank degrades only the items of its share, so the
LR of another rank's item is made again on demand (rank 0 needs a few for the report's crops).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from srpipe.comparison.journal import Journal
from srpipe.errors import SrpipeError
from srpipe.image.resize import degrade, modcrop
from srpipe.task import Item


@dataclass
class DegradedSet:
    """Every item at one scale, with LR images for the chunks this rank runs."""

    scale: int
    #: HR cropped to a multiple of ``scale`` (views, no copies), ``meta["scale"]`` set
    items: list[Item]
    #: the LR image of each item of this rank's chunks; None for other ranks' items
    lr_images: list[np.ndarray | None]
    #: this rank's chunks ``(start, end)`` of item indices, in item order
    chunks: Sequence[tuple[int, int]]
    #: the dataset's items as given (a re-made LR starts from the uncropped HR)
    originals: Sequence[Item]

    def lr(self, index: int) -> np.ndarray:
        """Item ``index``'s LR image, degraded here when another rank holds it."""
        image = self.lr_images[index]
        return image if image is not None else degrade_item(self.originals[index], self.scale)

    def indices(self) -> list[int]:
        """The item indices of this rank's chunks, in order."""
        return [i for start, end in self.chunks for i in range(start, end)]


def degrade_share(
    items: Sequence[Item], scale: int, chunks: Sequence[tuple[int, int]], journal: Journal
) -> DegradedSet:
    """``items`` at ``scale``, the LR images made for the items of ``chunks`` only."""
    journal.working_on = []
    lr_images: list[np.ndarray | None] = [None] * len(items)
    for start, end in chunks:
        for i in range(start, end):
            journal.working_on = [items[i].id]
            lr_images[i] = degrade_item(items[i], scale)
    return DegradedSet(scale, [at_scale(item, scale) for item in items], lr_images, chunks, items)


def at_scale(item: Item, scale: int) -> Item:
    """The item as scored at ``scale``: HR cropped to a multiple of it (a view, no copy)."""
    return dataclasses.replace(
        item, image=modcrop(item.image, scale), meta={**item.meta, "scale": scale}
    )


def degrade_item(item: Item, scale: int) -> np.ndarray:
    """The LR image of ``item``; an error names the item.

    ``degrade`` crops by itself: given the uncropped HR, its errors name the real size.
    """
    try:
        return degrade(item.image, scale)
    except SrpipeError as exc:
        raise SrpipeError(f"item {item.id!r}: {exc}") from None
