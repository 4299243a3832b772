"""Entry point of the srpipe_medical plugin: the hooks srpipe calls.

* ``srpipe_register_tasks``: the ``medical`` task (``srpipe run medical``, ``srpipe eval
  medical``);
* ``srpipe_open_frames`` / ``srpipe_open_frame_writer``: DICOM and NIfTI files as slice
  sources for ``run``, written back as DICOM/NIfTI (the core reads plain images itself);
* ``srpipe_environment``: the pydicom and nibabel versions in every report.

pydicom and nibabel are imported only when a hook is actually answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from srpipe.data.sources import TEST, Source
from srpipe.environment import distribution_version
from srpipe.hookspecs import hookimpl
from srpipe_medical.frames import SliceSource, SliceWriter, dicom_series
from srpipe_medical.reading import is_medical_path
from srpipe_medical.task import MedicalTask


@hookimpl
def srpipe_register_tasks() -> list[type]:
    """The medical task."""

    return [MedicalTask]


# tryfirst: both hooks are firstresult and answer only for medical files/sources, which the
# video plugin's would otherwise claim as ".mp4" outputs
@hookimpl(tryfirst=True)
def srpipe_open_frames(path: Path, start: int = 0, end: int | None = None, stride: int = 1) -> Any:
    """A slice source for a DICOM or NIfTI file, or a folder holding a DICOM series; None
    for anything else."""

    path = Path(path)
    if path.is_dir():
        return (
            SliceSource(path, start=start, end=end, stride=stride) if dicom_series(path) else None
        )
    if not path.is_file() or not is_medical_path(path):
        return None

    return SliceSource(Path(path), start=start, end=end, stride=stride)


@hookimpl(tryfirst=True)
def srpipe_open_frame_writer(path: Path, fps: float, size: tuple[int, int], source: Any) -> Any:
    """For a slice source: a writer that writes DICOM/NIfTI beside ``path``; else None."""

    if not isinstance(source, SliceSource):
        return None
    return SliceWriter(Path(path).parent, source, size)


@hookimpl
def srpipe_environment() -> dict[str, str | None]:

    return {"pydicom": distribution_version("pydicom"), "nibabel": distribution_version("nibabel")}


@hookimpl
def srpipe_register_sources() -> list[Source]:
    """The offline default set (``datasets.DEFAULT_SOURCES``): scikit-image's fundus images
    and pydicom's test files, one source per distinct image; other encodings of the same
    slice are further paths of its source (read only by the medical tests)."""
    reads = ("medical",)
    nema = "pydicom test data (NEMA WG04 samples)"
    files = "data/test_files/"
    mr_small = (
        "",
        "_bigendian",
        "_expb",
        "_implicit",
        "_padded",
        "_RLE",
        "_jp2klossless",
        "_jpeg_ls_lossless",
    )
    return [
        Source("retina", "skimage", ("data/retina.jpg",), TEST, tasks=reads,
               licence="CC-BY (scikit-image)", description="fundus photograph, 1411x1411"),
        Source("microaneurysms", "skimage", ("data/microaneurysms.png",), TEST, tasks=reads,
               licence="CC-BY (scikit-image)", description="fundus detail, 102x102"),
        Source("pydicom_ct_small", "pydicom", (files + "CT_small.dcm", files + "no_meta.dcm"),
               TEST, tasks=reads, licence=nema,
               description="CT slice, 128x128, 16-bit signed, HU = stored - 1024"),
        Source("pydicom_mr_small", "pydicom",
               (*(f"{files}MR_small{v}.dcm" for v in mr_small), files + "MR_truncated.dcm"),
               TEST, tasks=reads, licence=nema, description="MR slice, 64x64, 16-bit signed"),
        Source("pydicom_mr_overlay", "pydicom", (files + "examples_overlay.dcm",), TEST,
               tasks=reads, licence=nema, description="MR slice, 484x300, 12-bit"),
        Source("pydicom_ct_j2k", "pydicom", (files + "J2K_pixelrep_mismatch.dcm",), TEST,
               tasks=reads, licence=nema,
               description="CT slice, 512x512, 13-bit signed, JPEG 2000 lossless"),
        Source("pydicom_ct_j2k_lossy", "pydicom", (files + "693_J2KI.dcm",), TEST,
               tasks=reads, licence=nema,
               description="CT slice, 512x512, 14-bit signed, JPEG 2000 lossy"),
        Source("pydicom_nm_j2k", "pydicom", (files + "JPEG2000.dcm",), TEST, tasks=reads,
               licence=nema,
               description="nuclear-medicine frame, 256x1024, 16-bit signed, JPEG 2000"),
    ]  # fmt: skip
