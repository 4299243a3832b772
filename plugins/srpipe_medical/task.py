"""The ``medical`` task: SR on 16-bit single-channel slices, judged in the modality's range.

The task's "model" is the identity (the upscaled slice is the prediction, as for ``eval
sr``); what it measures per item:

* ``psnr`` / ``ssim``: on the physical values (HU for CT), peak = the modality's data range
  (:meth:`~srpipe_medical.slices.Slice.data_range`: 4096 HU for CT, the HR slice's own range
  otherwise), ``scale`` pixels shaved, no Y conversion (a single channel has none);
* ``dice``, ``hausdorff_mm``, ``hausdorff_px``: the agreement of a classical segmentation
  of the upscaled slice with the same segmentation of HR (or with the user's mask), see
  :mod:`srpipe_medical.segmentation`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.image.metrics import psnr, ssim
from srpipe.task import Dataset, Item, Task, TaskContext
from srpipe_medical.datasets import default_dataset, folder_dataset
from srpipe_medical.reading import read_slices
from srpipe_medical.segmentation import agreement, rules_for


class MedicalTask(Task):
    """Image quality in the modality's range and segmentation agreement, on 16-bit slices.

    --data is a folder (or one file) of DICOM, NIfTI, 16-bit PNG/TIFF or photographs, with
    optional NAME_mask.png ground-truth masks; without it, the packaged medical test images
    (pydicom's CT/MR test files, scikit-image's fundus images). `srpipe run medical` writes
    the upscaled DICOM/NIfTI back in its own format (16-bit images as 16-bit PNG).
    """

    name = "medical"
    summary = "16-bit CT/MR (DICOM, NIfTI) SR: quality in the modality's range, segmentation Dice"
    metrics = ("dice", "hausdorff_mm", "hausdorff_px", "psnr", "ssim")
    lower_is_better = frozenset({"hausdorff_mm", "hausdorff_px"})
    default_data = "packaged pydicom CT/MR test files + scikit-image fundus images"
    evaluate_is_item_mean: ClassVar[bool] = True

    def setup(self, ctx: TaskContext) -> None:
        self.command = ctx.command
        self.limit = ctx.limit

    def read_input(self, path: Path) -> np.ndarray:
        """``run`` on an image file: its single 16-bit channel (green for colour photos)."""

        return read_slices(path)[0].pixels

    def predict(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(image) for image in images]

    def rescale(self, prediction: Any, factor: float) -> Any:
        # a slice's values cannot be mapped to HR size without resampling: that is a variant
        raise NotImplementedError

    def records(self, prediction: np.ndarray) -> list[dict[str, Any]]:
        return [
            {
                "rows": int(prediction.shape[0]),
                "cols": int(prediction.shape[1]),
                "dtype": str(prediction.dtype),
                "min": int(prediction.min()),
                "max": int(prediction.max()),
            }
        ]

    def load_dataset(self, data: str | None, **_: Any) -> Dataset:

        if data is None:
            return default_dataset(getattr(self, "limit", None))
        return folder_dataset(Path(data))

    def not_measurable(self, items: Sequence[Item]) -> dict[str, str]:
        if not any(item.meta["slice"].spacing for item in items):
            return {
                "hausdorff_mm": "no item has a pixel spacing (DICOM PixelSpacing / NIfTI zooms)"
            }
        return {}

    def item_scores(self, prediction: np.ndarray, item: Item) -> dict[str, float]:

        slice_ = item.meta["slice"]
        scale = int(item.meta.get("scale", 1))
        hr = slice_.physical(item.image)
        test = slice_.physical(np.asarray(prediction))
        if test.shape != hr.shape:
            raise SrpipeError(
                f"prediction is {test.shape[1]}x{test.shape[0]}, HR {hr.shape[1]}x{hr.shape[0]}"
            )
        peak = slice_.data_range(hr)
        scores: dict[str, float] = {
            "psnr": psnr(test, hr, shave=scale, y_channel=False, data_range=peak),
            "ssim": ssim(test, hr, shave=scale, y_channel=False, data_range=peak),
        }
        rules = rules_for(slice_.modality, hr)
        spacing = slice_.spacing
        if item.target is not None:
            truth = np.asarray(item.target)[: hr.shape[0], : hr.shape[1]]
            # the modality's rule that best matches the mask on HR (chosen on HR alone)
            best = max(rules, key=lambda r: _dice0(r.apply(hr), truth), default=None)
            pairs = [(best.apply(test), truth)] if best is not None else []
        else:
            pairs = [(rule.apply(test), rule.apply(hr)) for rule in rules]
        scores.update(agreement(pairs, spacing))
        return {k: (float(v) if v is not None else math.nan) for k, v in scores.items()}


def _dice0(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 2.0 * int(np.logical_and(a, b).sum()) / total if total else 0.0
