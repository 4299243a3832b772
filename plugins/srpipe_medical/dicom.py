"""DICOM in and out through pydicom: single-channel slices, metadata kept, spacing updated.

Reading checks the declared size against srpipe's decode limit *before* the pixel data is
decoded (``stop_before_pixels``), so a file declaring 100000 x 100000 pixels costs a header
read. Every failure is one line: not DICOM, no pixel data, truncated pixel data, a
compressed transfer syntax no installed decoder reads, colour data.

Writing keeps every attribute of the source and changes what the upscaling changes:
Rows/Columns, PixelSpacing (divided by the scale), ImagePositionPatient (the first pixel's
centre moves by half an old pixel minus half a new one), a new SOP Instance UID, ImageType
DERIVED and a DerivationDescription. The pixel data is written uncompressed (Explicit VR
Little Endian) in the source's own integer type, clipped to its BitsStored range.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from srpipe.atomic import atomic_path
from srpipe.errors import SrpipeError
from srpipe.image.limits import check_pixel_count
from srpipe_medical.slices import Slice, to_uint16

#: file suffixes taken for DICOM without reading them
DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")


def is_dicom_path(path: Path) -> bool:
    """True for a ``.dcm``/``.dicom``/``.ima`` name, or a file with the DICM preamble."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _pydicom():
    try:
        import pydicom
    except ImportError:
        raise SrpipeError(
            "reading DICOM needs pydicom; pip install 'srpipe[medical]' (or pydicom)"
        ) from None
    return pydicom


def read_dicom(path: str | Path) -> list[Slice]:
    """The slices of one DICOM file (one per frame); raises a one-line ``SrpipeError``."""

    pydicom = _pydicom()
    path = Path(path)
    if not path.is_file():
        raise SrpipeError(f"{path}: no such DICOM file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom's VR notes are not the user's problem
            header = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # InvalidDicomError, EOFError, struct errors ...
        raise SrpipeError(f"{path}: not a readable DICOM file ({type(exc).__name__})") from None
    rows, cols = int(header.get("Rows") or 0), int(header.get("Columns") or 0)
    frames = int(header.get("NumberOfFrames") or 1)
    if not rows or not cols:
        raise SrpipeError(f"{path}: DICOM file has no image (no Rows/Columns)")
    check_pixel_count(str(path), cols, rows * frames)
    photometric = str(header.get("PhotometricInterpretation", "MONOCHROME2"))
    if int(header.get("SamplesPerPixel") or 1) != 1 or not photometric.startswith("MONOCHROME"):
        raise SrpipeError(
            f"{path}: {photometric} DICOM; the medical task reads single-channel "
            "(MONOCHROME1/2) images such as CT and MR"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            stored = np.asarray(ds.pixel_array)
    except Exception as exc:
        raise SrpipeError(_decode_error(path, header, exc)) from None
    if stored.ndim == 2:
        stored = stored[None]
    stored = stored.astype(stored.dtype.newbyteorder("="))  # big-endian files
    spacing = _spacing(ds)
    slices = []
    for index, frame in enumerate(stored):
        pixels, offset = to_uint16(frame, str(path))
        name = path.stem if len(stored) == 1 else f"{path.stem}_f{index:03d}"
        slices.append(
            Slice(
                pixels=pixels,
                name=name,
                modality=str(ds.get("Modality", "")),
                offset=offset,
                slope=float(ds.get("RescaleSlope", 1) or 1),
                intercept=float(ds.get("RescaleIntercept", 0) or 0),
                spacing=spacing,
                bits_stored=int(ds.get("BitsStored") or 16),
                source_format="dicom",
                meta={"dataset": ds, "frame": index, "frames": len(stored), "path": str(path)},
            )
        )
    return slices


def _decode_error(path: Path, header, exc: Exception) -> str:
    syntax = getattr(getattr(header, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is not None and syntax.is_compressed and isinstance(exc, (RuntimeError, ImportError)):
        return (
            f"{path}: pixel data is compressed as {syntax.name} and no installed decoder "
            "reads it; pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg, or export "
            "the file uncompressed"
        )
    if "PixelData" not in header and not isinstance(exc, ValueError):
        return f"{path}: DICOM file has no pixel data"
    return f"{path}: truncated or corrupt DICOM pixel data ({str(exc).splitlines()[0][:120]})"


def _spacing(ds) -> tuple[float, float] | None:
    for key in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(key)
        if value is not None and len(value) == 2:
            row, col = float(value[0]), float(value[1])
            if row > 0 and col > 0:
                return row, col
    return None


def write_dicom(path: str | Path, upscaled: Slice, scale: float, method: str | None = None) -> Path:
    """Write ``upscaled`` (made from a DICOM slice) as a DICOM file at ``path``, atomically."""
    pydicom = _pydicom()
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    source = upscaled.meta.get("dataset")
    if source is None:
        raise SrpipeError(f"{path}: only slices read from DICOM can be written as DICOM")
    ds = source.copy()
    stored = upscaled.pixels.astype(np.int64) - upscaled.offset
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    bits = int(ds.get("BitsStored") or 16)
    allocated = int(ds.get("BitsAllocated") or 16)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    dtype = np.dtype(f"{'i' if signed else 'u'}{max(allocated, 8) // 8}").newbyteorder("<")
    stored = np.clip(stored, low, high).astype(dtype)
    rows, cols = stored.shape
    old_rows, old_cols = int(ds.Rows), int(ds.Columns)
    ds.Rows, ds.Columns = rows, cols
    if "NumberOfFrames" in ds:
        ds.NumberOfFrames = 1  # one frame of a multi-frame source per file
    for key in ("PixelSpacing", "ImagerPixelSpacing"):
        if key in ds and upscaled.spacing is not None:
            ds[key].value = [f"{upscaled.spacing[0]:.9g}", f"{upscaled.spacing[1]:.9g}"]
    _move_position(ds, old_rows / rows, old_cols / cols)
    for key in ("SmallestImagePixelValue", "LargestImagePixelValue"):
        if key in ds:
            del ds[key]  # stale after resampling, and optional
    ds.PixelData = stored.tobytes()
    ds["PixelData"].VR = "OW" if allocated > 8 else "OB"
    ds.SOPInstanceUID = generate_uid()
    ds.ImageType = ["DERIVED", "SECONDARY", *list(ds.get("ImageType", []))[2:]]
    by = f" by {method}" if method else ""
    ds.DerivationDescription = f"upscaled x{scale:g}{by} (srpipe)"[:64]
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return target


def _move_position(ds, row_ratio: float, col_ratio: float) -> None:
    """Shift ImagePositionPatient to the new first pixel's centre (MATLAB's pixel grid).

    The new pixel (0, 0) samples old coordinate ``0.5 * ratio - 0.5`` along each axis.
    """
    position, orientation = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
    spacing = _spacing(ds)
    if position is None or orientation is None or spacing is None or len(orientation) != 6:
        return
    along_row = np.array([float(v) for v in orientation[:3]])  # column index grows this way
    along_col = np.array([float(v) for v in orientation[3:]])  # row index grows this way
    # PixelSpacing is already the new one: new = old * ratio (ratio = old size / new size)
    old_row_mm, old_col_mm = spacing[0] / row_ratio, spacing[1] / col_ratio
    d_row = (0.5 * row_ratio - 0.5) * old_row_mm
    d_col = (0.5 * col_ratio - 0.5) * old_col_mm
    moved = np.array([float(v) for v in position]) + d_col * along_row + d_row * along_col
    ds.ImagePositionPatient = [f"{v:.9g}" for v in moved]
