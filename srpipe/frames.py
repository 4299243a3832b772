"""What ``srpipe run`` expects of frame sources and writers that plugins open.

The core reads single images and folders itself; anything else (a video file, a
camera, an image sequence pattern) comes from a plugin's ``srpipe_open_frames`` as a
:class:`FrameSource`, and annotated frames go to a ``srpipe_open_frame_writer``'s
:class:`FrameWriter`. The video plugin's ``FrameSequence`` / ``FrameWriter`` are one
implementation of each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Frame(Protocol):
    """One decoded frame."""

    #: index in the source (before ``start``/``stride`` selection)
    index: int
    #: seconds from the source's first frame (None when unknown)
    timestamp: float | None
    #: RGB uint8, (H, W, 3)
    image: np.ndarray


@runtime_checkable
class FrameSource(Protocol):
    """An iterable of :class:`Frame` with the facts an output video needs."""

    #: frames per second of the selected frames
    fps: float
    #: (width, height) of every frame
    size: tuple[int, int]
    #: number of frames iteration yields (for progress bars)
    frame_count: int

    def __iter__(self) -> Iterator[Frame]: ...


@runtime_checkable
class FrameWriter(Protocol):
    """Writes annotated frames to a file; ``close`` finishes it, ``abort`` removes it."""

    def write(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


@runtime_checkable
class JoinableFrameWriter(FrameWriter, Protocol):
    """A writer that can stitch files written by writers like it (optional).

    A distributed ``run`` of one video has each rank write its frame range to a part file;
    when rank 0's writer is ``joinable``, ``join`` puts the parts, in order, into ``path``
    (the selection ``source`` says where each part's first frame lies) and returns it.
    Otherwise the video runs on rank 0 alone.
    """

    joinable: bool

    def join(self, parts: Sequence[Path], path: Path, source: FrameSource) -> Path: ...
