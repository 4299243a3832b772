"""``srpipe run medical``: DICOM and NIfTI files as frame sources, written back as themselves.

The runner reads plain images itself and asks plugins for everything else; this source
answers for DICOM and NIfTI, yielding each slice as a uint16 (H, W) frame. Its writer
collects the upscaled slices and writes them back in the source's format beside the run's
outputs: ``NAME_xS.dcm`` (one file per frame) or ``NAME_xS.nii.gz``, with the source's
metadata and the new spacing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srpipe.errors import SrpipeError
from srpipe_medical.dicom import is_dicom_path, write_dicom
from srpipe_medical.nifti import write_nifti
from srpipe_medical.reading import read_slices
from srpipe_medical.slices import Slice


@dataclass
class SliceFrame:
    index: int
    image: np.ndarray
    timestamp: float | None = None


def dicom_series(folder: Path) -> list[Path]:
    """The DICOM files of a series folder (one slice each, usually); [] if it holds none."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and is_dicom_path(p))


def _series_slices(folder: Path) -> list[Slice]:
    """Every slice of a DICOM series folder, in InstanceNumber order (file name on ties)."""
    slices = [item for file in dicom_series(folder) for item in read_slices(file)]

    def order(item: Slice) -> tuple[int, str]:
        number = item.meta.get("dataset", {}).get("InstanceNumber") if item.meta else None
        try:
            return (int(number), item.name)
        except (TypeError, ValueError):
            return (0, item.name)

    return sorted(slices, key=order)


class SliceSource:
    """The slices of one DICOM/NIfTI file, or of a folder holding a DICOM series, as a
    frame source (``fps`` is meaningless: 1)."""

    fps = 1.0

    def __init__(self, path: Path, start: int = 0, end: int | None = None, stride: int = 1):
        self.path = Path(path)
        self.series = self.path.is_dir()
        every = _series_slices(self.path) if self.series else read_slices(self.path)
        self.slices: list[Slice] = every[start:end:stride]
        if not self.slices:
            raise SrpipeError(f"{self.path}: no slices in the selected range")
        rows, cols = self.slices[0].pixels.shape
        self.size = (cols, rows)
        self.frame_count = len(self.slices)

    def __len__(self) -> int:
        return self.frame_count

    def __iter__(self) -> Iterator[SliceFrame]:
        for index, item in enumerate(self.slices):
            yield SliceFrame(index, item.pixels)


class SliceWriter:
    """Collects upscaled slices; ``close`` writes them in the source's format."""

    def __init__(self, folder: Path, source: SliceSource, size: tuple[int, int]) -> None:
        self.source = source
        self.scale = size[0] / source.size[0]
        if source.series:  # a series folder comes back as a folder of the same files
            self.path = Path(folder) / f"{source.path.name}_x{self.scale:g}"
            self.images: list[np.ndarray] = []
            return
        stem = source.slices[0].name.split("_f0")[0].split("_z0")[0]
        fmt = source.slices[0].source_format
        suffix = ".dcm" if fmt == "dicom" else ".nii.gz"
        self.path = Path(folder) / f"{stem}_x{self.scale:g}{suffix}"
        self.images = []

    def write(self, image: np.ndarray) -> None:
        self.images.append(np.asarray(image))

    def abort(self) -> None:
        self.images = []

    def close(self) -> None:

        slices = self.source.slices[: len(self.images)]
        upscaled = [s.with_pixels(img, self.scale) for s, img in zip(slices, self.images)]
        if not upscaled:
            return
        if self.source.series:
            for item in upscaled:
                name = Path(item.meta.get("path", item.name)).name
                write_dicom(self.path / name, item, self.scale)
            return
        if upscaled[0].source_format == "nifti":
            write_nifti(self.path, upscaled, self.scale)
            return
        if len(upscaled) == 1:
            write_dicom(self.path, upscaled[0], self.scale)
            return
        for k, item in enumerate(upscaled):
            write_dicom(self.path.with_name(f"{self.path.stem}_f{k:03d}.dcm"), item, self.scale)
