"""`FrameSequence`: the one way srpipe reads frames from a video, a folder or a glob.

A :class:`FrameSequence` opens

* a **video file** (``.mp4``, ``.avi``, ``.mkv``, ``.mov``, ...): decoded with PyAV when it is
  installed (exact per-frame timestamps, variable-frame-rate detection, the audio track for
  the writer to keep), otherwise with OpenCV (timestamps assumed to be ``index / fps``);
* a **folder of images** (``frames/``) or a **glob** (``frames/*.png``): files in natural
  order (``f2`` before ``f10``), at ``fps`` frames per second (25 unless given).

Iterating yields :class:`Frame` objects ``(index, timestamp, image)``: ``index`` is the
frame's position in the source, ``timestamp`` its time in seconds from the first frame of
the source, ``image`` an RGB ``uint8`` array ``(H, W, 3)``. ``start``/``end``/``stride``
select frames ``start, start + stride, ...`` below ``end`` (source indices, end exclusive).

Rates: ``source_fps`` is the file's nominal rate; ``fps`` is the rate of the frames this
sequence *yields* (``source_fps / stride``), so a writer given ``fps`` keeps the duration.

Bad input raises :class:`srpipe.errors.SrpipeError` with one line saying what is wrong and
what to do: a missing or unreadable file, no video stream, zero frames, a truncated file
(fewer frames present than the container announces, found when opening with PyAV or while
iterating), corrupt data while decoding, image files of different sizes.
"""

from __future__ import annotations

import glob as globlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.image.io import check_image_header
from srpipe.image.limits import check_pixel_count

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
     ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".y4m", ".h264", ".264", ".hevc", ".h265"}
)  # fmt: skip
#: image files accepted as frames of a folder or glob sequence
SEQUENCE_IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
)
DEFAULT_SEQUENCE_FPS = 25.0
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Frame:
    """One decoded frame: source index, seconds from the first source frame, RGB uint8 image."""

    index: int
    timestamp: float
    image: np.ndarray


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` has a video file extension (the file need not exist)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def is_glob(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` contains glob characters (``*``, ``?``, ``[``)."""
    return bool(_GLOB_CHARS.search(str(path)))


def have_pyav() -> bool:
    """Whether PyAV (the optional ``av`` package) can be imported."""
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _natural_key(path: Path) -> list[Any]:
    """Sort key that orders ``f2`` before ``f10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


@dataclass
class _Probe:
    """What opening a source found out (before any frame is decoded)."""

    kind: str  # "video" or "images"
    backend: str  # "pyav", "opencv" or "images"
    source_fps: float
    size: tuple[int, int]
    timestamps: np.ndarray  # seconds from the first frame, one per source frame
    variable_frame_rate: bool = False
    has_audio: bool = False
    start_offset: float = 0.0  # absolute container time of the first frame (seconds)
    codec: str = ""
    files: list[Path] | None = None
    pts: list[int] | None = None  # sorted video packet pts (PyAV), for seeking and indexing


class FrameSequence:
    """Frames of a video file, an image folder or a glob, with fps, count, timestamps and size.

    Args:
        path: a video file, a folder of images, or a glob such as ``"shots/*.png"``.
        start: first source frame index to yield.
        end: stop before this source frame index (None = to the end).
        stride: yield every ``stride``-th frame from ``start``.
        fps: frame rate of an image sequence (ignored for videos; default 25).
        backend: ``"auto"`` (PyAV when installed, else OpenCV), ``"pyav"`` or ``"opencv"``.

    Attributes: ``path``, ``kind`` ("video"/"images"), ``backend``, ``source_fps``, ``fps``
    (of the yielded frames), ``frame_count`` (frames yielded), ``total_frames`` (in the
    source), ``timestamps`` (seconds of the yielded frames), ``size`` (width, height),
    ``variable_frame_rate``, ``has_audio``, ``codec``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        start: int = 0,
        end: int | None = None,
        stride: int = 1,
        *,
        fps: float | None = None,
        backend: str = "auto",
    ) -> None:
        if start < 0 or stride < 1 or (end is not None and end < 0):
            raise SrpipeError(
                f"bad frame selection start={start} end={end} stride={stride}; "
                "use start >= 0, end >= 0 and stride >= 1"
            )
        if backend not in ("auto", "pyav", "opencv"):
            raise SrpipeError(f"unknown video backend {backend!r}; use auto, pyav or opencv")
        self.path = Path(path)
        self.start, self.stride = start, stride
        if is_glob(path):
            probe = _probe_images(_glob_files(str(path)), fps, str(path))
        elif self.path.is_dir():
            probe = _probe_images(_folder_files(self.path), fps, str(self.path))
        elif not self.path.exists():
            raise SrpipeError(f"video not found: {self.path}; check the path")
        else:
            use_pyav = backend == "pyav" or (backend == "auto" and have_pyav())
            if backend == "pyav" and not have_pyav():
                raise SrpipeError("backend 'pyav' needs PyAV: pip install 'srpipe[video]'")
            probe = _probe_pyav(self.path) if use_pyav else _probe_opencv(self.path)
        check_pixel_count(str(path), *probe.size)  # the OpenCV and image paths (pyav: above)
        self._probe = probe
        self.total_frames = len(probe.timestamps)
        self.end = self.total_frames if end is None else min(end, self.total_frames)
        self._selected = np.arange(self.start, self.end, self.stride)
        if self.total_frames and not len(self._selected):
            raise SrpipeError(
                f"{self.path.name}: the selection start={start} end={end} is empty "
                f"(the source has {self.total_frames} frames)"
            )

    # -- what the source is --------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self._probe.kind

    @property
    def backend(self) -> str:
        return self._probe.backend

    @property
    def source_fps(self) -> float:
        return self._probe.source_fps

    @property
    def fps(self) -> float:
        """Frame rate of the yielded frames: ``source_fps / stride`` (keeps the duration)."""
        return self._probe.source_fps / self.stride

    @property
    def frame_count(self) -> int:
        """Number of frames this sequence yields (after start/end/stride)."""
        return len(self._selected)

    def __len__(self) -> int:
        return self.frame_count

    @property
    def size(self) -> tuple[int, int]:
        """Frame size as (width, height)."""
        return self._probe.size

    @property
    def timestamps(self) -> np.ndarray:
        """Seconds (from the source's first frame) of each yielded frame."""
        return self._probe.timestamps[self._selected]

    @property
    def variable_frame_rate(self) -> bool:
        """True when frame intervals differ by more than 5% (PyAV only; OpenCV cannot tell)."""
        return self._probe.variable_frame_rate

    @property
    def has_audio(self) -> bool:
        return self._probe.has_audio

    @property
    def codec(self) -> str:
        return self._probe.codec

    @property
    def start_offset(self) -> float:
        """Absolute container time of the source's first frame, seconds (for audio sync)."""
        return self._probe.start_offset

    def __repr__(self) -> str:
        w, h = self.size
        return (
            f"FrameSequence({str(self.path)!r}, {self.frame_count} frames of {w}x{h} at "
            f"{self.fps:.3g} fps{' (variable rate)' if self.variable_frame_rate else ''}, "
            f"{self.kind} via {self.backend})"
        )

    # -- frames ----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        if self._probe.kind == "images":
            return self._iter_images()
        if self._probe.backend == "pyav":
            return self._iter_pyav()
        return self._iter_opencv()

    def _iter_images(self) -> Iterator[Frame]:
        import cv2

        files = self._probe.files or []
        times = self._probe.timestamps
        for index in self._selected:
            file = files[index]
            check_image_header(file)
            bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if bgr is None:
                raise SrpipeError(f"cannot read frame {file}; the image is corrupt or unsupported")
            if (bgr.shape[1], bgr.shape[0]) != self.size:
                raise SrpipeError(
                    f"frame {file.name} is {bgr.shape[1]}x{bgr.shape[0]} but the sequence is "
                    f"{self.size[0]}x{self.size[1]}; all frames must have one size"
                )
            yield Frame(int(index), float(times[index]), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def _iter_pyav(self) -> Iterator[Frame]:
        import av

        pts_list = self._probe.pts or []
        # without packet timestamps (raw streams) frames are numbered in decode order
        index_of = {pts: i for i, pts in enumerate(pts_list)}
        wanted = set(self._selected.tolist())
        last_wanted = int(self._selected[-1])
        times = self._probe.timestamps
        yielded, position = 0, -1
        try:
            container = av.open(str(self.path))
        except av.error.FFmpegError as exc:
            raise SrpipeError(f"cannot open {self.path.name}: {exc}; re-export the file") from None
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame threads: decoding overlaps itself too
            if self.start > 0 and pts_list:
                # Seek to the key frame before `start`, then decode forward (frames before
                # `start` are decoded but never converted to RGB).
                container.seek(pts_list[self.start], stream=stream, backward=True)
            for av_frame in container.decode(stream):
                position = index_of.get(av_frame.pts, position + 1) if pts_list else position + 1
                if position > last_wanted:
                    break
                if position not in wanted:
                    continue
                image = av_frame.to_ndarray(format="rgb24")
                yielded += 1
                yield Frame(position, float(times[position]), image)
        except av.error.FFmpegError as exc:
            raise SrpipeError(
                f"{self.path.name}: corrupt video data after frame {position} ({exc}); "
                "re-export the file or select frames before it with end="
            ) from None
        finally:
            container.close()
        if yielded < self.frame_count:
            raise SrpipeError(
                f"{self.path.name}: decoding stopped after {yielded} of {self.frame_count} frames; "
                "the file is truncated or corrupt, re-export or re-download it"
            )

    def _iter_opencv(self) -> Iterator[Frame]:
        import cv2

        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise SrpipeError(f"cannot open {self.path.name} with OpenCV; re-export the file")
        times = self._probe.timestamps
        yielded, position = 0, -1
        try:
            if self.start > 0:
                capture.set(cv2.CAP_PROP_POS_FRAMES, self.start)
                # Some containers only seek to key frames; trust what OpenCV says it reached.
                position = int(capture.get(cv2.CAP_PROP_POS_FRAMES)) - 1
            last_wanted = int(self._selected[-1])
            while position < last_wanted:
                position += 1
                if position < self.start or (position - self.start) % self.stride:
                    if not capture.grab():  # grab() skips the colour conversion
                        break
                    continue
                ok, bgr = capture.read()
                if not ok:
                    break
                yielded += 1
                yield Frame(position, float(times[position]), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        finally:
            capture.release()
        if yielded < self.frame_count:
            raise SrpipeError(
                f"{self.path.name}: decoding stopped after {yielded} of {self.frame_count} frames; "
                "the file is truncated or corrupt, re-export or re-download it"
            )


def _glob_files(pattern: str) -> list[Path]:
    files = [Path(p) for p in globlib.glob(os.path.expanduser(pattern))]
    files = [p for p in files if p.is_file()]
    if not files:
        raise SrpipeError(f"no files match {pattern!r}; check the pattern (quote it in the shell)")
    return sorted(files, key=_natural_key)


def _folder_files(folder: Path) -> list[Path]:
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SEQUENCE_IMAGE_EXTENSIONS and p.name[0] != "."
    ]
    if not files:
        raise SrpipeError(f"folder {folder} has no image frames; put .png/.jpg frames in it")
    return sorted(files, key=_natural_key)


def _probe_images(files: list[Path], fps: float | None, label: str) -> _Probe:
    import cv2

    rate = float(fps) if fps else DEFAULT_SEQUENCE_FPS
    if rate <= 0:
        raise SrpipeError(f"fps must be positive, got {fps}")
    check_image_header(files[0])
    first = cv2.imread(str(files[0]), cv2.IMREAD_COLOR)
    if first is None:
        raise SrpipeError(f"cannot read {files[0]} as an image; {label} must hold image frames")
    return _Probe(
        kind="images",
        backend="images",
        source_fps=rate,
        size=(int(first.shape[1]), int(first.shape[0])),
        timestamps=np.arange(len(files), dtype=np.float64) / rate,
        codec=files[0].suffix.lower().lstrip("."),
        files=files,
    )


def _is_variable_rate(times: np.ndarray, tick: float) -> bool:
    """Frame intervals that differ from the median by > 5% (and > 2 time-base ticks)."""
    if len(times) < 3:
        return False
    intervals = np.diff(times)
    median = float(np.median(intervals))
    tolerance = max(0.05 * median, 2.0 * tick)
    return bool(np.any(np.abs(intervals - median) > tolerance))


def _probe_pyav(path: Path) -> _Probe:
    """Demux (no decoding) to count frames and collect their timestamps."""
    import av

    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise SrpipeError(
            f"cannot open {path.name} as a video ({_short(exc)}); the file is truncated, "
            "corrupt or not a video"
        ) from None
    try:
        if not container.streams.video:
            raise SrpipeError(f"{path.name} has no video stream (zero frames?); give a video file")
        stream = container.streams.video[0]
        # the declared frame size, before a packet is read (a 60000x60000 stream is a bomb)
        check_pixel_count(path.name, stream.codec_context.width, stream.codec_context.height)
        announced = int(stream.frames or 0)
        pts: list[int] = []
        unstamped = 0  # packets without pts (raw streams): frames are then counted, not timed
        truncated_error = None
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                if packet.pts is None:
                    unstamped += 1
                else:
                    pts.append(int(packet.pts))
        except av.error.FFmpegError as exc:
            truncated_error = _short(exc)
        codec = stream.codec_context.name
        width, height = stream.codec_context.width, stream.codec_context.height
        has_audio = bool(container.streams.audio)
        time_base = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate
    finally:
        container.close()
    count = len(pts) + unstamped
    if not count:
        raise SrpipeError(f"{path.name} has zero video frames; the file is empty or broken")
    if truncated_error or (announced and count < announced):
        raise SrpipeError(
            f"{path.name} is truncated or corrupt: {count} of {announced or '?'} frames are "
            f"readable{f' ({truncated_error})' if truncated_error else ''}; re-export or "
            "re-download it"
        )
    if unstamped:  # no reliable timestamps: nominal rate, frames indexed in decode order
        fps = float(rate or DEFAULT_SEQUENCE_FPS)
        return _Probe(
            kind="video",
            backend="pyav",
            source_fps=fps,
            size=(int(width), int(height)),
            timestamps=np.arange(count, dtype=np.float64) / fps,
            has_audio=has_audio,
            codec=codec,
        )
    pts.sort()  # packets arrive in decode order; B-frames make it differ from display order
    absolute = np.array(pts, dtype=np.float64) * float(time_base)
    times = np.round(absolute - absolute[0], 6)  # float noise from pts * time_base
    vfr = _is_variable_rate(times, float(time_base))
    if vfr or not rate:
        span = times[-1] if len(times) > 1 else 0.0
        fps = (len(times) - 1) / span if span > 0 else float(rate or DEFAULT_SEQUENCE_FPS)
    else:
        fps = float(rate)
    return _Probe(
        kind="video",
        backend="pyav",
        source_fps=fps,
        size=(int(width), int(height)),
        timestamps=times,
        variable_frame_rate=vfr,
        has_audio=has_audio,
        start_offset=float(absolute[0]),
        codec=codec,
        pts=pts,
    )


def _probe_opencv(path: Path) -> _Probe:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise SrpipeError(
                f"cannot open {path.name} as a video; the file is truncated, corrupt or not a "
                "video (PyAV, pip install 'srpipe[video]', reads more formats)"
            )
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or DEFAULT_SEQUENCE_FPS
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC) or 0)
    finally:
        capture.release()
    if count <= 0 or width <= 0 or height <= 0:
        raise SrpipeError(f"{path.name} has zero video frames; the file is empty or broken")
    codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ").lower()
    return _Probe(
        kind="video",
        backend="opencv",
        source_fps=fps,
        size=(width, height),
        timestamps=np.arange(count, dtype=np.float64) / fps,
        codec=codec,
    )


def _short(exc: BaseException) -> str:
    """An FFmpeg error as one short line (PyAV repeats the file name)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r":\s*'[^']*'$", "", text)
