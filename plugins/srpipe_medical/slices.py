"""One medical image slice as srpipe carries it: 16-bit stored values plus what they mean.

Every reader (DICOM, NIfTI, 16-bit PNG/TIFF) turns a slice into a :class:`Slice` whose
``pixels`` are single-channel ``uint16`` (H, W), the type the core's resize, Upscaler,
cache and metrics keep exact. What the values mean travels beside them:

* ``stored = pixels - offset`` is the file's own value (signed CT data is stored shifted by
  ``offset = 32768`` so that -2000 fits a uint16; unsigned data has ``offset = 0``);
* ``physical = slope * stored + intercept`` is the modality's unit (Hounsfield units for
  CT; for MR and others the scanner's arbitrary unit);
* ``spacing`` is the (row, column) pixel spacing in millimetres, or None when the file has
  none (then distances are reported in pixels only).

Nothing is ever reduced to 8 bits on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from srpipe.errors import SrpipeError

#: CT values are measured over this window (HU): -1024..3071, the range 12-bit CT stores
CT_RANGE_HU = 4096.0


@dataclass
class Slice:
    """A single-channel slice: uint16 ``pixels`` and the meaning of their values."""

    pixels: np.ndarray
    name: str
    modality: str = ""
    offset: int = 0
    slope: float = 1.0
    intercept: float = 0.0
    spacing: tuple[float, float] | None = None
    bits_stored: int = 16
    #: "dicom", "nifti" or "image" (16-bit PNG/TIFF or an 8-bit photograph)
    source_format: str = "image"
    #: the reader's own object (pydicom Dataset, NIfTI header) for writing back
    meta: dict[str, Any] = field(default_factory=dict)

    def physical(self, pixels: np.ndarray | None = None) -> np.ndarray:
        """``pixels`` (default: this slice's) in the modality's unit, float64."""
        values = self.pixels if pixels is None else pixels
        return self.slope * (values.astype(np.float64) - self.offset) + self.intercept

    def data_range(self, hr_physical: np.ndarray | None = None) -> float:
        """The peak PSNR and SSIM use: 4096 HU for CT, else the HR slice's own value range."""
        if self.modality == "CT":
            return CT_RANGE_HU
        values = self.physical() if hr_physical is None else hr_physical
        span = float(values.max() - values.min())
        return span if span > 0 else 1.0

    def with_pixels(self, pixels: np.ndarray, scale: float) -> Slice:
        """This slice upscaled by ``scale``: new pixels, spacing divided by the scale."""
        spacing = None
        if self.spacing is not None:
            spacing = (self.spacing[0] / scale, self.spacing[1] / scale)
        return replace(self, pixels=pixels, spacing=spacing, meta=dict(self.meta))


def to_uint16(stored: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """Stored integer values -> (uint16 pixels, offset); signed data is shifted by 32768."""

    if stored.dtype.kind not in "ui":
        raise SrpipeError(f"{name}: stored values are {stored.dtype}, expected integers")
    if stored.dtype.kind == "u" and stored.dtype.itemsize <= 2:
        return stored.astype(np.uint16), 0
    low, high = int(stored.min()), int(stored.max())
    offset = 32768 if stored.dtype.kind == "i" else 0
    if low + offset < 0 or high + offset > 65535:
        raise SrpipeError(
            f"{name}: values {low}..{high} do not fit 16 bits; srpipe handles up to 16-bit data"
        )
    return (stored.astype(np.int64) + offset).astype(np.uint16), offset
