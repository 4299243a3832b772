"""NIfTI volumes in and out through nibabel: slices, zooms and affine updated.

A volume (I, J, K[, 1]) is read as K slices ``data[:, :, k]`` (rows = the array's first
axis) with spacing ``(zoom[0], zoom[1])``; upscaling resamples those two axes only (SR is
a 2-D operation; the slice thickness is unchanged). Integer data keeps its values (signed
data shifted into uint16); float data is quantised to 65536 levels over the volume's range
(slope/intercept kept so values come back in the file's unit) and is written back as
float32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srpipe.atomic import atomic_path
from srpipe.errors import SrpipeError
from srpipe.image.limits import check_pixel_count
from srpipe_medical.slices import Slice, to_uint16

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_path(path: Path) -> bool:
    name = str(path).lower()
    return any(name.endswith(s) for s in NIFTI_SUFFIXES)


def _stem(path: Path) -> str:
    name = Path(path).name
    for suffix in NIFTI_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _nibabel():
    try:
        import nibabel
    except ImportError:
        raise SrpipeError(
            "reading NIfTI needs nibabel; pip install 'srpipe[medical]' (or nibabel)"
        ) from None
    return nibabel


def read_nifti(path: str | Path) -> list[Slice]:
    """The slices ``data[:, :, k]`` of a 2-D or 3-D NIfTI volume (one-line errors)."""

    nib = _nibabel()
    path = Path(path)
    if not path.is_file():
        raise SrpipeError(f"{path}: no such NIfTI file")
    try:
        image = nib.load(str(path))  # lazy: the header only
        shape = tuple(int(v) for v in image.shape)
    except Exception as exc:
        raise SrpipeError(f"{path}: not a readable NIfTI file ({type(exc).__name__})") from None
    shape = shape + (1,) * (3 - len(shape)) if len(shape) < 3 else shape
    if len(shape) > 3 and int(np.prod(shape[3:])) != 1:
        raise SrpipeError(f"{path}: {len(shape)}-D volume {shape}; give a 2-D or 3-D volume")
    check_pixel_count(str(path), shape[1], shape[0] * shape[2])
    try:
        raw = np.asanyarray(image.dataobj).reshape(shape[:3])
    except Exception as exc:
        raise SrpipeError(
            f"{path}: truncated or corrupt NIfTI data ({type(exc).__name__})"
        ) from None
    zooms = tuple(float(z) for z in image.header.get_zooms()[:2])
    spacing = zooms if len(zooms) == 2 and min(zooms) > 0 else None
    slope, intercept = 1.0, 0.0
    if raw.dtype.kind == "f":
        finite = raw[np.isfinite(raw)]
        low = float(finite.min()) if finite.size else 0.0
        high = float(finite.max()) if finite.size else 1.0
        slope = (high - low) / 65535.0 if high > low else 1.0
        intercept = low
        stored = np.floor((np.nan_to_num(raw, nan=low) - low) / slope + 0.5).astype(np.uint16)
        offset = 0
    else:
        stored, offset = to_uint16(raw, str(path))
    meta = {"image": image, "shape": shape, "dtype": str(raw.dtype), "path": str(path)}
    return [
        Slice(
            pixels=np.ascontiguousarray(stored[:, :, k]),
            name=f"{_stem(path)}_z{k:03d}" if shape[2] > 1 else _stem(path),
            modality="",
            offset=offset,
            slope=slope,
            intercept=intercept,
            spacing=spacing,
            source_format="nifti",
            meta={**meta, "slice": k},
        )
        for k in range(shape[2])
    ]


def write_nifti(path: str | Path, slices: list[Slice], scale: float) -> Path:
    """Write upscaled slices of one source volume as a NIfTI at ``path`` (atomically)."""
    nib = _nibabel()

    source = slices[0].meta["image"]
    volume = np.stack([s.physical() for s in slices], axis=2)
    dtype = np.dtype(slices[0].meta["dtype"])
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        volume = np.clip(np.floor(volume + 0.5), info.min, info.max).astype(dtype)
    else:
        volume = volume.astype(np.float32)
    rows, cols = volume.shape[:2]
    ratio_r = source.shape[0] / rows
    ratio_c = source.shape[1] / cols
    affine = source.affine.copy()
    # new voxel (i, j) samples old (i + 0.5) * ratio - 0.5: scale the axes, move the origin
    step = np.diag([ratio_r, ratio_c, 1.0, 1.0])
    step[:3, 3] = [0.5 * ratio_r - 0.5, 0.5 * ratio_c - 0.5, 0.0]
    affine = affine @ step
    header = source.header.copy()
    header.set_data_dtype(volume.dtype)
    out = type(source)(volume, affine, header)
    zooms = list(source.header.get_zooms()[:3]) + [1.0] * (3 - len(source.header.get_zooms()[:3]))
    out.header.set_zooms((zooms[0] * ratio_r, zooms[1] * ratio_c, *zooms[2:3]))
    target = Path(path)
    suffix = ".nii.gz" if str(target).lower().endswith(".gz") else ".nii"
    with atomic_path(target, suffix=suffix) as tmp:
        nib.save(out, str(tmp))
    return target
