"""Tiled inference with bounded memory: overlapping tiles, blended seams, streamed output.

An SR network's activations grow with the input (EDSR x4 on a 4000x3000 photo would need
tens of GB), so large images are cut into tiles. The layout along each axis:

* the image is split into ``n = ceil(L / tile)`` near-equal *cores*;
* each tile the network sees is its core plus ``overlap`` pixels of *context* on each
  side (clipped at the image border), so the core is computed with its neighbourhood;
* each tile contributes its core widened by ``band = overlap // 2`` on interior sides;
  neighbouring contributions meet in a band ``2 * band`` wide where linear ramps that sum
  to exactly 1 cross-fade them, so no seam shows even when the network's receptive field is
  wider than the context. A contributed pixel is at least ``overlap - band`` pixels from
  its tile's cut edge, so a network whose receptive radius is within that gives exactly
  the untiled result.

A window-attention network (SwinIR, HAT, DAT...) partitions its input into fixed windows
counted from the input's top-left corner, so a tile gives the untiled result only if its
context starts on the image's window grid: ``align`` puts every interior cut and every
context origin on a multiple of the window (:func:`aligned_cuts`).

Tiles are cut from the CPU array and handed to ``process`` one at a time (the caller moves
each to the device), and the output is assembled on the CPU one *row of tiles* at a time:
only that row is held in float32, finished rows are quantised straight into the final
uint8 / uint16 / float32 array. Peak memory is the output array plus one strip plus one
tile's activations.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from srpipe.errors import SrpipeError

#: an image cut into at least this many tiles shows a progress bar
PROGRESS_FROM_TILES = 16


@dataclass(frozen=True)
class Span:
    """One tile's extent along one axis, in input (LR) pixels, half-open intervals."""

    core: tuple[int, int]
    #: what the network sees: the core plus context
    context: tuple[int, int]
    #: what the tile contributes to the output: the core plus the blend band
    keep: tuple[int, int]
    #: half-width of the cross-fade band at interior edges
    band: int


def aligned_cuts(length: int, tile: int, align: int) -> list[int]:
    """Cut positions 0 < ... < ``length`` into near-equal cores of at most ``tile`` pixels,
    interior cuts on multiples of ``align`` (1: anywhere).

    The cores are counted in whole ``align`` units, so rounding never makes one longer than
    ``tile`` (a tile that used to grow past its memory plan); a ``tile`` below ``align``
    gives cores of one unit, the least an aligned cut allows.
    """
    if align <= 1:
        n = max(1, math.ceil(length / tile))
        interior = (round(k * length / n) for k in range(1, n))
    else:
        units, per = math.ceil(length / align), max(1, tile // align)
        n = max(1, math.ceil(units / per))
        interior = (align * round(k * units / n) for k in range(1, n))
    return sorted({0, length, *(c for c in interior if 0 < c < length)})


def spans(length: int, tile: int, overlap: int, align: int = 1) -> list[Span]:
    """Split ``length`` pixels into tiles of at most ``tile`` core pixels (see module doc);
    with ``align`` > 1 every context starts on a multiple of ``align``."""
    if tile < 1:
        raise SrpipeError(f"tile size must be positive, got {tile}")
    if overlap < 0:
        raise SrpipeError(f"tile overlap must be >= 0, got {overlap}")
    if align < 1:
        raise SrpipeError(f"tile alignment must be positive, got {align}")
    cuts = aligned_cuts(length, tile, align)
    n = len(cuts) - 1
    # context reaches back a whole number of windows, so it starts on the window grid too
    reach = -(-overlap // align) * align
    smallest = min(b - a for a, b in itertools.pairwise(cuts))
    # bands of neighbouring cuts must not meet, or three tiles would share a pixel
    band = min(overlap // 2, smallest // 2) if n > 1 else 0
    result = []
    for k in range(n):
        start, end = cuts[k], cuts[k + 1]
        keep = (start - band if k > 0 else 0, end + band if k < n - 1 else length)
        context = (max(0, start - reach), min(length, end + overlap))
        result.append(Span(core=(start, end), context=context, keep=keep, band=band))
    return result


def _ramp(span: Span, length: int, scale: int) -> np.ndarray:
    """Blend weights over the kept output pixels of ``span`` (1 in the core, ramps in bands)."""
    k0, k1 = span.keep[0] * scale, span.keep[1] * scale
    weights = np.ones(k1 - k0, dtype=np.float32)
    width = 2 * span.band * scale
    if width == 0:
        return weights
    # pixel centres: t runs from 1/(2w) to 1 - 1/(2w) across the band, and the falling ramp
    # of the neighbour is exactly 1 - t, so contributions sum to one
    t = (np.arange(width, dtype=np.float64) + 0.5) / width
    if span.keep[0] > 0:
        weights[:width] = t
    if span.keep[1] < length:
        weights[-width:] = (1.0 - t)[:]
    return weights


def iter_tiles(
    height: int, width: int, tile: int, overlap: int, align: int = 1
) -> Iterator[tuple[Span, Span]]:
    """(row span, column span) of every tile, row by row."""
    for row in spans(height, tile, overlap, align):
        for col in spans(width, tile, overlap, align):
            yield row, col


def upscale_tiled(
    image: np.ndarray,
    process: Callable[[np.ndarray], np.ndarray],
    scale: int,
    *,
    tile: int,
    overlap: int,
    finish: Callable[[np.ndarray], np.ndarray],
    out_dtype: np.dtype,
    align: int = 1,
    progress_from: int = PROGRESS_FROM_TILES,
) -> np.ndarray:
    """Upscale an (H, W, C) image tile by tile.

    ``process`` maps an (h, w, C) input tile (a view of ``image``) to its (h*s, w*s, C)
    float32 output; ``finish`` turns a float32 block of finished output rows into
    ``out_dtype`` (clamp and round); ``align`` is the network's window (see module doc).
    Returns the (H*s, W*s, C) array of ``out_dtype``.
    An image of at least ``progress_from`` tiles shows a progress bar on stderr (one image
    can take minutes; a short one would only flash a bar).
    """
    height, width, channels = image.shape
    rows = spans(height, tile, overlap, align)
    cols = spans(width, tile, overlap, align)
    bar = tqdm(
        total=len(rows) * len(cols),
        desc=f"{width}x{height} x{scale} in tiles",
        unit="tile",
        leave=False,
        disable=len(rows) * len(cols) < progress_from,
    )
    col_weights = [_ramp(c, width, scale) for c in cols]
    out = np.empty((height * scale, width * scale, channels), dtype=out_dtype)
    carry: np.ndarray | None = None  # blended rows shared with the next row of tiles
    for r_index, row in enumerate(rows):
        y0, y1 = row.keep[0] * scale, row.keep[1] * scale
        strip = np.zeros((y1 - y0, width * scale, channels), dtype=np.float32)
        if carry is not None:
            strip[: carry.shape[0]] += carry
        row_weights = _ramp(row, height, scale)[:, None, None]
        for col, cw in zip(cols, col_weights):
            patch = image[row.context[0] : row.context[1], col.context[0] : col.context[1]]
            result = process(patch)
            expected = (
                (row.context[1] - row.context[0]) * scale,
                (col.context[1] - col.context[0]) * scale,
            )
            if result.shape[:2] != expected:
                raise SrpipeError(
                    f"model returned a {result.shape[1]}x{result.shape[0]} tile for a "
                    f"{patch.shape[1]}x{patch.shape[0]} input; is it really a x{scale} model?"
                )
            ry = (row.keep[0] - row.context[0]) * scale
            rx = (col.keep[0] - col.context[0]) * scale
            kept = result[ry : ry + (y1 - y0), rx : rx + cw.size]
            x0 = col.keep[0] * scale
            strip[:, x0 : x0 + cw.size] += kept * row_weights * cw[None, :, None]
            bar.update()
        if r_index + 1 < len(rows):
            done = rows[r_index + 1].keep[0] * scale - y0
            out[y0 : y0 + done] = finish(strip[:done])
            carry = strip[done:].copy()
        else:
            out[y0:y1] = finish(strip)
        del strip
    bar.close()
    return out
