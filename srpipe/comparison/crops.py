"""Visual crops for the report: where does SR differ from the baseline, and does it matter?

Numbers convince; pictures explain. For the few items where the SR variant's score and
the baseline's differ most, the report shows HR / baseline / SR side by side, each with
the task's own annotations (``Task.draw``), cropped to the window where the two upscaled
images differ most (so a 1080p frame still shows detail at report size).

The comparison makes them (it alone still has the variants that make the images and the
task that draws on them) and the result carries them; :mod:`srpipe.report` only writes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from srpipe.comparison.degraded import DegradedSet
from srpipe.comparison.items import ItemColumns
from srpipe.comparison.journal import Journal
from srpipe.comparison.results import Crop, VariantInfo
from srpipe.comparison.scoring import predict
from srpipe.comparison.summary import MeasuredVariant
from srpipe.comparison.variants import chunk_images
from srpipe.task import Task
from srpipe.upscaling.cache import UpscaleCache

#: side of the crop window in HR pixels (whole image when smaller)
WINDOW = 160


def choose_items(
    baseline: ItemColumns, contender: ItemColumns, metric: str, n: int
) -> tuple[list[int], str]:
    """Indices of the ``n`` items with the largest |contender - baseline| score, and why.

    Uses the task's item score for ``metric`` when the task gives one, else the PSNR
    against HR that the harness computes for every variant.
    """
    by_metric = (baseline.scores.get(metric), contender.scores.get(metric))
    for (a, b), label in (
        (by_metric, f"largest |{metric}| difference"),
        ((baseline.psnr, contender.psnr), "largest PSNR difference"),
    ):
        if a is None or b is None:
            continue
        with np.errstate(invalid="ignore"):
            diffs = np.abs(b - a)
        defined = np.flatnonzero(np.isfinite(a) & np.isfinite(b))
        if defined.size:
            # the largest differences first, ties in item order
            order = np.lexsort((defined, -diffs[defined]))
            return [int(i) for i in defined[order[:n]]], label
    return list(range(min(n, len(baseline)))), "first items"


def window(a: np.ndarray, b: np.ndarray, size: int = WINDOW) -> tuple[int, int, int, int]:
    """The ``size`` x ``size`` window (y0, x0, y1, x1) where images ``a`` and ``b`` differ most."""
    h, w = a.shape[:2]
    if a.shape != b.shape:
        return 0, 0, min(h, size), min(w, size)
    wh, ww = min(h, size), min(w, size)
    diff = np.abs(a.astype(np.float32) - b.astype(np.float32))
    if diff.ndim == 3:
        diff = diff.mean(axis=2)
    # sum of |a - b| over every window, via an integral image
    integral = np.pad(diff.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = integral[wh:, ww:] - integral[:-wh, ww:] - integral[wh:, :-ww] + integral[:-wh, :-ww]
    y0, x0 = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(y0), int(x0), int(y0) + wh, int(x0) + ww


def make_crop(
    scale: int,
    item_id: str,
    panels: Sequence[tuple[str, np.ndarray, str, np.ndarray]],
    reason: str,
) -> Crop | None:
    """A :class:`~srpipe.comparison.results.Crop` from (label, annotated image, caption, raw image)
    panels.

    The window is chosen on the raw (unannotated) images of the last two panels, i.e. the
    baseline and the SR variant.
    """
    if len(panels) < 2:
        return None
    a, b = panels[-2][3], panels[-1][3]
    y0, x0, y1, x1 = window(a, b)
    cropped = [
        (label, np.ascontiguousarray(drawn[y0:y1, x0:x1]), caption)
        for label, drawn, caption, _ in panels
        if drawn.shape[:2] == a.shape[:2]
    ]
    return Crop(scale, item_id, (y0, x0, y1, x1), cropped, reason)


def draw_crops(
    inputs: DegradedSet,
    measured: Sequence[MeasuredVariant],
    baseline: str,
    metric: str,
    n: int,
    *,
    task: Task,
    cache: UpscaleCache,
    journal: Journal,
) -> list[Crop]:
    """Crops of the ``n`` items where the first SR variant and the baseline differ most.

    The items are chosen from the score arrays; only the few chosen are decoded again, their
    images made again (SR from the cache) and predicted again: the run keeps no images.
    Nothing is drawn without an HR-sized contender.
    """
    live = {m.name: m for m in measured}
    contender = next((m.name for m in measured if m.variant.kind == "sr"), None)
    contender = contender or next((m.name for m in measured if m.variant.kind == "task"), None)
    if (
        contender is None
        or live[baseline].variant.to_hr != 1.0
        or live[contender].variant.to_hr != 1.0
    ):
        return []
    chosen, reason = choose_items(live[baseline].columns, live[contender].columns, metric, n)
    crops = []
    for index in chosen:
        item, lr = inputs.item(index)  # decoded again: the run kept no images
        panels = []
        for name in ("hr", baseline, contender):
            if name not in live:
                continue
            variant = live[name].variant
            # a throwaway info: the crops' image time and cache hits are not the run's
            info = VariantInfo(name, inputs.scale, variant.kind)
            image = chunk_images(variant, inputs.scale, [item], [lr], info, cache, journal)[0]
            drawn = task.draw(image, predict(task, variant, [image])[0])
            columns = live[name].columns
            value = columns.scores[metric][index] if metric in columns.scores else math.nan
            quality = columns.psnr[index]
            caption = f"{metric} {value:.4g}" if not math.isnan(value) else ""
            if not math.isnan(quality) and metric.lower() != "psnr":
                caption += f"  PSNR {quality:.2f} dB"
            panels.append((name if name != "hr" else "HR", drawn, caption.strip(), image))
        crop = make_crop(inputs.scale, item.id, panels, reason)
        if crop is not None:
            crops.append(crop)
    return crops
