"""One entry point for every medical input: a path in, :class:`Slice` s out.

DICOM (``.dcm``, or any file with the DICM preamble), NIfTI (``.nii``, ``.nii.gz``) and
images through :func:`srpipe.image.io.load_image` (16-bit PNG/TIFF keep their 16 bits; a grey
image is one channel; a colour photograph such as a fundus image gives its green channel,
where retinal vessels and lesions have the most contrast). All decoders check the declared
size against srpipe's decode limit first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.image.io import is_image_path, load_image, read_image
from srpipe_medical.dicom import is_dicom_path, read_dicom
from srpipe_medical.nifti import is_nifti_path, read_nifti
from srpipe_medical.slices import Slice

#: suffix of a user mask beside an image: ``ct1.dcm`` + ``ct1_mask.png``
MASK_SUFFIX = "_mask"


def is_medical_path(path: Path) -> bool:
    """True for files the medical readers (not the core's image reader) handle."""
    return is_nifti_path(path) or is_dicom_path(path)


def read_slices(path: str | Path) -> list[Slice]:
    """Every slice of ``path`` (one for an image or single-frame DICOM)."""
    path = Path(path)
    if is_nifti_path(path):
        return read_nifti(path)
    if is_dicom_path(path):
        return read_dicom(path)

    if not is_image_path(path):
        raise SrpipeError(
            f"{path}: not DICOM, NIfTI or an image; the medical task reads .dcm, .nii(.gz), "
            "16-bit PNG/TIFF and photographs"
        )
    picture = load_image(path)
    channel = 0 if picture.grey else 1  # grey: any channel; colour: green
    pixels = np.ascontiguousarray(picture.rgb[:, :, channel]).astype(np.uint16)
    return [
        Slice(
            pixels=pixels,
            name=path.stem,
            bits_stored=picture.bit_depth,
            source_format="image",
            meta={"path": str(path), "bit_depth": picture.bit_depth, "green": not picture.grey},
        )
    ]


def read_mask(path: Path) -> np.ndarray | None:
    """The user's mask beside ``path`` (``NAME_mask.png``; non-zero = inside), or None."""

    stem = path.name[: -len(".nii.gz")] if path.name.lower().endswith(".nii.gz") else path.stem
    for candidate in sorted(path.parent.glob(f"{stem}{MASK_SUFFIX}.*")):
        return read_image(candidate)[:, :, 0] > 0
    return None
