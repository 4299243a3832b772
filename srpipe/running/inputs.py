"""Where ``srpipe run`` reads frames: an image, a folder of images, or a plugin's frame source.

Images are read here (decode errors become failed frames, not a failed run); anything else
(a video, a glob of frames, a DICOM series) is opened by a ``srpipe_open_frames`` plugin.
Separate from the runner because the video sharding reopens the input for each rank's range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from srpipe.atomic import printable
from srpipe.distributed import one_line
from srpipe.errors import SrpipeError
from srpipe.frames import FrameSource
from srpipe.image.io import is_image_path, read_image
from srpipe.plugins import get_plugin_manager
from srpipe.running.state import InputFrame, StageTimer


@dataclass
class OpenedInput:
    """A run's input, classified: image files (one, or a folder's), or a frame source."""

    kind: Literal["image", "folder", "frames"]
    #: the image files ("image", "folder")
    files: list[Path] = field(default_factory=list)
    #: the plugin's frame source ("frames")
    source: FrameSource | None = None


def open_input(path: Path, start: int = 0, end: int | None = None, stride: int = 1) -> OpenedInput:
    """Classify ``path`` and open it; ``start``/``end``/``stride`` select a source's frames."""

    def plugin_source() -> FrameSource | None:
        return get_plugin_manager().hook.srpipe_open_frames(
            path=path, start=start, end=end, stride=stride
        )

    if not path.exists():
        # a glob such as "frames/*.png" is not a path, but a frame-source plugin may open it
        if any(ch in str(path) for ch in "*?[") and (source := plugin_source()) is not None:
            return OpenedInput("frames", source=source)
        raise SrpipeError(f"input not found: {path}; give an image, a folder of images or a video")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise SrpipeError(f"folder {path} is empty; put images in it or give a file")
        # no images: a plugin may read the folder as one sequence (a DICOM series)
        if not any(is_image_path(p) for p in files) and (source := plugin_source()) is not None:
            return OpenedInput("frames", source=source)
        return OpenedInput("folder", files=files)
    if is_image_path(path):
        return OpenedInput("image", files=[path])
    source = plugin_source()
    if source is None:
        raise SrpipeError(
            f"cannot read {path.name}: not an image, and no plugin opens this file type "
            "(is the video plugin installed? see `srpipe plugins`)"
        )
    return OpenedInput("frames", source=source)


def image_frames(
    files: Sequence[Path],
    timer: StageTimer,
    read: Callable[[Path], np.ndarray] = read_image,
    first_index: int = 0,
) -> Iterator[InputFrame]:
    """``files`` read one by one as frames numbered from ``first_index``; one that cannot be
    decoded comes as a frame without an image (recorded as failed, the run goes on)."""
    for offset, file in enumerate(files):
        with timer.time("decode"):
            try:
                image, error = read(file), None
            except SrpipeError as exc:
                image, error = None, printable(str(exc))
            except (OSError, ValueError, MemoryError) as exc:
                # unreadable, vanished, undecodable: listed at the end, the folder goes on
                image, error = None, printable(f"{file.name}: {one_line(exc)}")
        yield InputFrame(first_index + offset, printable(file.name), image, error=error)


def describe_inputs(names: Sequence[str]) -> str:
    """What a rank was reading, for the line naming where it failed."""
    if not names:
        return "setup"
    return f"input {names[0]!r}" if len(names) == 1 else f"inputs {names[0]!r}..{names[-1]!r}"
