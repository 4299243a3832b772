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
from typing import Any

import numpy as np

from srpipe.comparison.degraded import DegradedSet
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
    baseline_rows: Sequence[dict[str, Any]],
    contender_rows: Sequence[dict[str, Any]],
    metric: str,
    n: int,
) -> tuple[list[int], str]:
    """Indices of the ``n`` items with the largest |contender - baseline| score, and why.

    Uses the task's item score for ``metric`` when the task gives one, else the PSNR
    against HR that the harness computes for every variant.
    """
    for key, label in (
        (metric, f"largest |{metric}| difference"),
        ("psnr_vs_hr", "largest PSNR difference"),
    ):
        diffs = []
        for index, (base, cont) in enumerate(zip(baseline_rows, contender_rows)):
            a = base["scores"].get(key) if key != "psnr_vs_hr" else base.get(key)
            b = cont["scores"].get(key) if key != "psnr_vs_hr" else cont.get(key)
            if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
                diffs.append((abs(b - a), index))
        if diffs:
            diffs.sort(key=lambda d: (-d[0], d[1]))
            return [index for _, index in diffs[:n]], label
    return list(range(min(n, len(baseline_rows)))), "first items"


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

    The images are made again (SR from the cache) and predicted again for the few items
    chosen: the run itself keeps no images. Nothing is drawn without an HR-sized contender.
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
    chosen, reason = choose_items(live[baseline].rows, live[contender].rows, metric, n)
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
            row = live[name].rows[index]
            value = row["scores"].get(metric)
            caption = f"{metric} {value:.4g}" if value is not None else ""
            if row["psnr_vs_hr"] is not None and metric.lower() != "psnr":
                caption += f"  PSNR {row['psnr_vs_hr']:.2f} dB"
            panels.append((name if name != "hr" else "HR", drawn, caption.strip(), image))
        crop = make_crop(inputs.scale, item.id, panels, reason)
        if crop is not None:
            crops.append(crop)
    return crops
