"""The label-free downstream measurement: a classical segmentation, and how two agree.

A radiologist's first use of a sharper slice is to delineate something. Without labels,
srpipe asks whether the *same* classical segmentation finds the same structure on the
upscaled slice as on the HR slice:

* **CT**: bone is ``HU >= 300`` and air is ``HU <= -400`` (textbook thresholds); both are
  measured and the slice's Dice / Hausdorff are the means over the structures present
  on HR;
* **other modalities** (MR, NM, photographs): the structure is "brighter than the HR slice's
  Otsu threshold"; the *HR* threshold is applied to every variant, so a blurrier
  upscaling is not rescued by a threshold of its own.

When the user gives masks next to the images (``NAME_mask.png``), each variant's
segmentation is compared with the mask instead (ground truth, not HR agreement).

Agreement is the Dice coefficient and the symmetric Hausdorff distance between the two
masks' boundaries, in millimetres from the pixel spacing (rows and columns may differ),
and in pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: CT structures and their HU rule: (name, lower bound or None, upper bound or None)
CT_STRUCTURES: tuple[tuple[str, float | None, float | None], ...] = (
    ("bone", 300.0, None),
    ("air", None, -400.0),
)


@dataclass(frozen=True)
class Rule:
    """One structure: values in [low, high] (None = unbounded) are inside it."""

    name: str
    low: float | None
    high: float | None

    def apply(self, values: np.ndarray) -> np.ndarray:
        mask = np.ones(values.shape, dtype=bool)
        if self.low is not None:
            mask &= values >= self.low
        if self.high is not None:
            mask &= values <= self.high
        return mask


def rules_for(modality: str, hr_values: np.ndarray) -> list[Rule]:
    """The segmentation rules of a slice: HU thresholds for CT, HR's Otsu level otherwise."""
    if modality == "CT":
        return [Rule(name, low, high) for name, low, high in CT_STRUCTURES]
    from skimage.filters import threshold_otsu

    if float(hr_values.max()) == float(hr_values.min()):
        return []
    return [Rule("otsu", float(threshold_otsu(hr_values)), None)]


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks; NaN when both are empty (nothing to agree on)."""
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return math.nan
    return 2.0 * int(np.logical_and(a, b).sum()) / total


def _boundary(mask: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_erosion

    # pixels of the mask with a 4-neighbour outside it (the image edge counts as outside)
    return mask & ~binary_erosion(mask, border_value=0)


def hausdorff(a: np.ndarray, b: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0)) -> float:
    """Symmetric Hausdorff distance between the boundaries of two masks, in spacing units.

    0 for identical masks; NaN when either mask is empty (no boundary to measure).
    """
    from scipy.ndimage import distance_transform_edt

    edge_a, edge_b = _boundary(a), _boundary(b)
    if not edge_a.any() or not edge_b.any():
        return math.nan
    to_b = distance_transform_edt(~edge_b, sampling=spacing)
    to_a = distance_transform_edt(~edge_a, sampling=spacing)
    return float(max(to_b[edge_a].max(), to_a[edge_b].max()))


def agreement(
    masks: list[tuple[np.ndarray, np.ndarray]], spacing: tuple[float, float] | None
) -> dict[str, float]:
    """Mean Dice and Hausdorff (px, and mm when the spacing is known) over (test, ref) pairs.

    Pairs whose reference is empty are left out (a structure absent from HR cannot be
    found again); NaN when none is left. A structure the test image misses entirely gets
    Dice 0 and, as its Hausdorff distance, the slice diagonal (the worst there is), so a
    miss is never left out of the mean.
    """
    kept = [(t, r) for t, r in masks if r.any()]
    if not kept:
        return {"dice": math.nan, "hausdorff_mm": math.nan, "hausdorff_px": math.nan}
    rows, cols = kept[0][1].shape
    dices = [dice(t, r) for t, r in kept]
    px = [hausdorff(t, r) if t.any() else math.hypot(rows, cols) for t, r in kept]
    mm = [math.nan]
    if spacing is not None:
        diagonal = math.hypot(rows * spacing[0], cols * spacing[1])
        mm = [hausdorff(t, r, spacing) if t.any() else diagonal for t, r in kept]
    return {
        "dice": float(np.mean(dices)),
        "hausdorff_px": _nanmean(px),
        "hausdorff_mm": _nanmean(mm),
    }


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan
