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
