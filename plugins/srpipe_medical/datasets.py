"""The medical evaluation sets: the offline default from packaged files, or a user folder.

The default set is every packaged medical image srpipe may measure on: pydicom's test
files that are distinct, single-channel images (CT and MR slices; the same MR slice in
other encodings is one image and counted once) and scikit-image's two fundus images, all
declared as ``medical`` test sources by this plugin (``srpipe_register_sources`` in
:mod:`srpipe_medical.plugin`, checked by :mod:`srpipe.data.sources`). Nothing is
downloaded. A pydicom file whose compression no installed decoder reads is left out with
a note in the set's description.

A user folder holds DICOM, NIfTI or image files; ``NAME_mask.png`` beside ``NAME.dcm``
is that slice's ground-truth mask.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path

import numpy as np

from srpipe.data import sources
from srpipe.errors import SrpipeError
from srpipe.task import Dataset, Item
from srpipe_medical.reading import MASK_SUFFIX, read_mask, read_slices
from srpipe_medical.slices import Slice

#: registry names of the default set (declared in srpipe_medical.plugin, tasks=("medical",))
DEFAULT_SOURCES: tuple[str, ...] = (
    "pydicom_ct_small",
    "pydicom_mr_small",
    "pydicom_mr_overlay",
    "pydicom_ct_j2k",
    "pydicom_ct_j2k_lossy",
    "pydicom_nm_j2k",
    "microaneurysms",
    "retina",
)


def item_from(slice_: Slice, group: str, path: Path, index: int, mask=None) -> Item:
    """Slice ``index`` of ``path`` as an item that holds no pixels: they are read again when
    it is scored (:func:`slice_pixels`); ``meta["slice"]`` keeps what the values mean."""
    height, width = slice_.pixels.shape
    if mask is not None and mask.shape != slice_.pixels.shape:
        raise SrpipeError(
            f"{slice_.name}: mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
            f"{width}x{height}; masks must match their image"
        )
    # the reader's own objects (a pydicom Dataset holds the pixel data again) are for
    # writing files back, which eval never does
    described = replace(slice_, pixels=np.empty((0, 0), np.uint16), meta={})
    return Item(
        id=slice_.name,
        load=functools.partial(slice_pixels, str(path), index),
        size=(width, height),
        target=mask,
        group=group,
        meta={"slice": described},
    )


def slice_pixels(path: str, index: int) -> np.ndarray:
    """The uint16 pixels of slice ``index`` of ``path``, read on demand (a medical item's load)."""
    return _file_slices(path)[index].pixels


@functools.lru_cache(maxsize=1)
def _file_slices(path: str) -> list[Slice]:
    # one file kept: a volume's slices are scored one after another
    return read_slices(path)


def default_dataset(limit: int | None = None) -> Dataset:
    """The offline default set (see the module docstring)."""

    sources.assert_reads(
        sources.RoleCheck("medical default set", sources.TEST, "medical", list(DEFAULT_SOURCES))
    )
    items: list[Item] = []
    skipped: list[str] = []
    for name in DEFAULT_SOURCES:
        source = sources.get(name)
        try:
            slices = read_slices(source.path())
        except SrpipeError as exc:
            if "pip install 'srpipe[medical]'" in str(exc):
                raise
            skipped.append(f"{name} ({str(exc).split(': ', 1)[-1][:80]})")
            continue
        items += [item_from(s, name, source.path(), i) for i, s in enumerate(slices)]
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise SrpipeError("no medical test image could be read; pip install 'srpipe[medical]'")
    description = (
        f"{len(items)} packaged slices/images (pydicom test files: CT and MR; scikit-image "
        "fundus images, green channel), one independent group each; small and few: intervals "
        "are wide and nothing here is a clinical validation"
    )
    if skipped:
        description += "; left out: " + "; ".join(skipped)
    return Dataset(
        "medical", items, description, meta={"sources": list(DEFAULT_SOURCES), "skipped": skipped}
    )


def folder_dataset(path: Path) -> Dataset:
    """Every DICOM/NIfTI/image file of a folder (or one file); masks beside images."""
    path = Path(path)
    if not path.exists():
        raise SrpipeError(f"--data {path}: not found; give a folder of DICOM/NIfTI/images")
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    files = [f for f in files if not f.name.startswith(".") and MASK_SUFFIX not in f.stem]
    items: list[Item] = []
    for file in files:
        mask = read_mask(file)
        slices = read_slices(file)
        if mask is not None and len(slices) != 1:
            raise SrpipeError(f"{file}: a mask fits single-slice files only, not {len(slices)}")
        items += [item_from(s, file.name, file, i, mask=mask) for i, s in enumerate(slices)]
    if not items:
        raise SrpipeError(f"--data {path}: no DICOM, NIfTI or image files in it")
    masked = sum(item.target is not None for item in items)
    return Dataset(
        path.stem or "medical",
        items,
        f"{len(items)} slices from {path}"
        + (f", {masked} with ground-truth masks" if masked else ""),
        meta={"masks": masked},
    )
