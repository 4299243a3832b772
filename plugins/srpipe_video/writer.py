"""`FrameWriter`: write RGB frames back to a video, atomically, keeping rate, size and audio.

Encoding, in order of preference:

1. **H.264 through PyAV** (``libx264``, CRF 18, ``yuv420p`` so every player opens it; odd
   frame sizes use ``yuv444p`` because 4:2:0 needs even sizes). PyAV wheels carry their own
   FFmpeg, so this works without a system ffmpeg.
2. **MPEG-4 part 2 through PyAV** when that FFmpeg has no H.264 encoder.
3. **OpenCV's ``VideoWriter``** when PyAV is not installed: ``mp4v`` for .mp4/.mov/.m4v/.mkv,
   ``MJPG`` for .avi (the OpenCV wheels here cannot write H.264).

Timing: with PyAV each frame keeps the source timestamp given to :meth:`FrameWriter.write`,
so variable-frame-rate and strided sources keep their duration; without timestamps frames
are ``1 / fps`` apart. OpenCV can only write a constant rate, so a variable-frame-rate
source with the OpenCV fallback is refused with a one-line error.

Audio: when ``source`` is a :class:`~srpipe_video.frames.FrameSequence` with an audio track
and PyAV writes, the audio packets of the selected time span are copied (no re-encoding)
and interleaved with the video as it is written. Otherwise the writer logs one line saying
the audio was dropped and why; :attr:`FrameWriter.audio` says ``kept``, ``none`` or
``dropped: <why>``.

Atomicity: frames go to ``NAME.partial.EXT`` beside the target. :meth:`close` finalises
the container and renames it to ``NAME.EXT``. :meth:`abort` (Ctrl-C, an error) finalises the
container too, so the partial file is *playable*, but leaves it named ``.partial``: a partial
output never looks complete. An unwritable output raises a one-line ``SrpipeError`` before
any frame is processed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

try:  # POSIX only; without it (Windows) a writer takes no cross-process lock
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

from srpipe.errors import SrpipeError

log = logging.getLogger("srpipe.video")

#: PyAV's clock for our output video stream: 90 kHz (the MPEG clock) represents the
#: common rates (24, 25, 30000/1001, 60...) exactly.
_TIME_BASE = Fraction(1, 90000)
#: containers that only know a constant frame rate: their clock is one tick a frame
_CONSTANT_RATE_SUFFIXES = frozenset({".avi"})
_H264_ENCODERS = ("libx264", "h264")  # "h264" may alias a hardware or openh264 encoder
_OPENCV_FOURCC = {".avi": "MJPG"}  # everything else: mp4v


class TargetLock:
    """One writer per output name at a time, across processes.

    Two ``run video ... -o same.mp4`` at once would share ``same.partial.mp4``: one died
    with a raw ``FileNotFoundError`` and the other reported a video that was not the one
    left under the name. The writer holds an exclusive ``flock`` on a hidden
    ``.NAME.EXT.lock`` beside the target from its start until the video is renamed into place
    (or aborted); a second writer is refused at once, in one line. The kernel releases the
    lock when a process dies (kill -9), so a stale lock file never blocks a later run.
    Without ``fcntl`` (Windows) there is no lock.
    """

    def __init__(self, target: Path) -> None:
        name = target.name
        if len(name.encode("utf-8", "surrogateescape")) > 200:  # stay a legal file name
            name = hashlib.sha256(os.fsencode(name)).hexdigest()[:24]
        self.path = target.with_name(f".{name}.lock")
        self.target = target
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None:  # pragma: no cover - not on POSIX
            return
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SrpipeError(
                f"{self.target} is being written by another srpipe run right now; wait for it "
                "to finish or choose another output name"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is None or fcntl is None:
            return
        # unlinked while still held: a run that opens the name now creates a fresh lock
        with contextlib.suppress(OSError):
            self.path.unlink()
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def partial_path_for(path: str | os.PathLike[str]) -> Path:
    """``out.mp4`` -> ``out.partial.mp4`` (the name used while writing and after an abort)."""
    target = Path(path)
    return target.with_name(f"{target.stem}.partial{target.suffix}")


def h264_encoder() -> str | None:
    """Name of an H.264 encoder PyAV can use here, or None (PyAV missing or built without)."""
    try:
        import av
    except ImportError:
        return None
    for name in _H264_ENCODERS:
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "w")
            except Exception:  # listed but not an encoder in this build
                continue
            return name
    return None


class FrameWriter:
    """Write RGB ``uint8`` frames of one size to a video file (see the module docstring).

    Args:
        path: output video (``.mp4``, ``.mkv``, ``.mov``, ``.avi``...).
        fps: nominal frame rate (of the frames written, e.g. ``FrameSequence.fps``).
        size: (width, height) of every frame.
        source: the :class:`~srpipe_video.frames.FrameSequence` the frames come from, or
            None; used to keep its audio and its timeline.
        codec: ``"auto"`` (H.264, else MPEG-4, via PyAV; else OpenCV), ``"opencv"``, or an
            FFmpeg encoder name for PyAV (``"libx264"``, ``"mpeg4"``, ``"ffv1"``...).
        crf: H.264 constant rate factor (lower = better; 18 is visually lossless).
        keep_audio: copy the source's audio track when possible.

    Usable as a context manager: a clean exit closes, an exception aborts.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        size: tuple[int, int],
        source: Any = None,
        *,
        codec: str = "auto",
        crf: int = 18,
        keep_audio: bool = True,
    ) -> None:
        self.path = Path(path)
        self.partial_path = partial_path_for(self.path)
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.source = source
        self.frames_written = 0
        self.audio = "none"
        self.finished: str | None = None  # "closed" or "aborted"
        if self.fps <= 0 or self.size[0] <= 0 or self.size[1] <= 0:
            raise SrpipeError(f"cannot write video with fps={fps} and size={size}")
        self._check_writable()
        try:
            self._last_pts = -1
            self._first_time: float | None = None
            self._audio_in: Any = None
            encoder = None if codec == "opencv" else (h264_encoder() if codec == "auto" else codec)
            if encoder is None and codec == "auto":
                encoder = "mpeg4" if _pyav_has("mpeg4") else None
            if encoder is not None:
                self._open_pyav(encoder, crf)
            else:
                self._open_opencv()
            self._setup_audio(keep_audio)
        except BaseException:
            self._lock.release()
            raise

    # -- opening ---------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.path.is_dir():
            raise SrpipeError(f"output {self.path} is a folder; give a video file name")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SrpipeError(
                f"cannot create folder {self.path.parent} for the video ({exc.strerror}); "
                "choose another output path"
            ) from None
        if not os.access(self.path.parent, os.W_OK):
            raise SrpipeError(
                f"cannot write to {self.path.parent} (permission denied); choose another path"
            )
        self._lock = TargetLock(self.path)
        self._lock.acquire()

    def _open_pyav(self, encoder: str, crf: int) -> None:
        import av

        try:
            self._container = av.open(str(self.partial_path), mode="w")
        except (av.error.FFmpegError, OSError) as exc:
            raise SrpipeError(
                f"cannot write {self.partial_path}: {exc}; choose another path"
            ) from None
        width, height = self.size
        rate = Fraction(self.fps).limit_denominator(1001)
        try:
            stream = self._container.add_stream(encoder, rate=rate)
        except Exception as exc:
            self._container.close()
            self.partial_path.unlink(missing_ok=True)
            raise SrpipeError(
                f"cannot encode {self.path.suffix} with {encoder!r} ({exc}); use .mp4 or .mkv"
            ) from None
        stream.width, stream.height = width, height
        odd = width % 2 or height % 2
        if encoder in _H264_ENCODERS:
            stream.pix_fmt = "yuv444p" if odd else "yuv420p"
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        elif encoder == "mpeg4":
            stream.pix_fmt = "yuv420p"
            stream.options = {"qscale": "3"}
        # AVI has no timestamps, only a frame rate: there a tick must be one frame
        self._time_base = (
            1 / rate if self.path.suffix.lower() in _CONSTANT_RATE_SUFFIXES else _TIME_BASE
        )
        stream.time_base = self._time_base
        stream.codec_context.time_base = self._time_base
        self._stream = stream
        self._av = av
        self.backend = "pyav"
        self.codec = encoder

    def _open_opencv(self) -> None:
        import cv2

        if getattr(self.source, "variable_frame_rate", False):
            raise SrpipeError(
                f"{getattr(self.source, 'path', 'the source')} has a variable frame rate and "
                "OpenCV can only write a constant one; install PyAV (pip install 'srpipe[video]')"
            )
        fourcc = _OPENCV_FOURCC.get(self.path.suffix.lower(), "mp4v")
        self._cv_writer = cv2.VideoWriter(
            str(self.partial_path), cv2.VideoWriter_fourcc(*fourcc), self.fps, self.size
        )
        if not self._cv_writer.isOpened():
            self.partial_path.unlink(missing_ok=True)
            raise SrpipeError(
                f"OpenCV cannot write {fourcc} video to {self.partial_path}; use .mp4 or .avi"
            )
        self._cv2 = cv2
        self.backend = "opencv"
        self.codec = fourcc.lower()

    def _setup_audio(self, keep_audio: bool) -> None:
        if not getattr(self.source, "has_audio", False):
            return
        if not keep_audio:
            self.audio = "dropped: keep_audio=False"
        elif self.backend != "pyav":
            self.audio = "dropped: the OpenCV writer cannot write audio (install PyAV)"
        else:
            try:
                self._open_audio()
                self.audio = "kept"
            except Exception as exc:  # any container/codec mismatch: keep the video
                self._audio_in = None
                self.audio = f"dropped: cannot copy it into {self.path.suffix} ({exc})"
        if self.audio != "kept":
            log.warning("%s: audio track %s", self.path.name, self.audio)

    def _open_audio(self) -> None:
        av = self._av
        source_container = av.open(str(self.source.path))
        in_stream = source_container.streams.audio[0]
        if in_stream.codec_context.name not in self._container.supported_codecs:
            source_container.close()
            raise ValueError(f"{in_stream.codec_context.name} audio is not allowed in it")
        self._audio_stream = self._container.add_stream_from_template(in_stream)
        self._audio_in = source_container
        self._audio_packets = source_container.demux(in_stream)
        self._audio_pending: Any = None
        times = getattr(self.source, "timestamps", None)
        first = float(times[0]) if times is not None and len(times) else 0.0
        # audio is cut to the selected video span: from the first selected frame on
        self._audio_origin = float(self.source.start_offset) + first
        self._audio_end: float | None = None

    # -- writing ---------------------------------------------------------------------------
    def write(self, image: np.ndarray, timestamp: float | None = None) -> None:
        """Append one RGB uint8 frame (H, W, 3); ``timestamp`` = source seconds (optional)."""
        if self.finished:
            raise SrpipeError(f"{self.path.name} is already {self.finished}; open a new writer")
        if image.ndim != 3 or (image.shape[1], image.shape[0]) != self.size:
            raise SrpipeError(
                f"frame of shape {image.shape} does not fit the {self.size[0]}x{self.size[1]} "
                "video; every frame must have the writer's size"
            )
        image = np.ascontiguousarray(image, dtype=np.uint8)
        if self.backend == "opencv":
            self._cv_writer.write(self._cv2.cvtColor(image, self._cv2.COLOR_RGB2BGR))
            self.frames_written += 1
            return
        seconds = self._frame_seconds(timestamp)
        pts = max(round(seconds / self._time_base), self._last_pts + 1)  # strictly increasing
        self._last_pts = pts
        frame = self._av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = pts
        frame.time_base = self._time_base
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
            self._mux_audio_until(seconds)
        except (self._av.error.FFmpegError, OSError) as exc:
            raise SrpipeError(f"writing {self.partial_path.name} failed: {exc}") from None
        self.frames_written += 1

    def _frame_seconds(self, timestamp: float | None) -> float:
        if timestamp is None:
            return self.frames_written / self.fps
        if self._first_time is None:
            self._first_time = float(timestamp)
        return float(timestamp) - self._first_time

    def _mux_audio_until(self, seconds: float | None) -> None:
        """Copy audio packets up to ``seconds`` of output time (None = up to the video end)."""
        if self._audio_in is None:
            return
        stream = self._audio_stream
        while True:
            packet = self._audio_pending
            self._audio_pending = None
            if packet is None:
                packet = next(self._audio_packets, None)
                if packet is None:
                    return
            if packet.pts is None or packet.dts is None or not packet.size:
                continue
            tb = packet.time_base
            start = float(packet.pts * tb) - self._audio_origin
            if seconds is not None and start > seconds:
                self._audio_pending = packet  # keep it for the next frame
                return
            if start < 0:
                continue
            if self._audio_end is not None and start >= self._audio_end:
                return
            shift = math.floor(self._audio_origin / tb)
            packet.pts -= shift
            packet.dts -= shift
            packet.stream = stream
            self._container.mux(packet)

    # -- finishing -------------------------------------------------------------------------
    def _finalise(self) -> None:
        """Flush the encoder, finish the audio and write the container's index (playable)."""
        if self.backend == "opencv":
            self._cv_writer.release()
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        except BaseException:
            self._close_containers()
            raise
        self._finish_audio_and_close()

    def _finish_audio_and_close(self) -> None:
        """Mux the rest of the audio (to the end of the last frame, not past it) and close."""
        try:
            if self._audio_in is not None:
                self._audio_end = self._last_pts * float(self._time_base) + 1.0 / self.fps
                self._mux_audio_until(None)
        finally:
            self._close_containers()

    def _close_containers(self) -> None:
        self._container.close()
        if self._audio_in is not None:
            self._audio_in.close()

    def close(self) -> Path:
        """Finish the video and rename it to its final name; returns that path."""
        if self.finished == "closed":
            return self.path
        if self.finished == "aborted":
            raise SrpipeError(f"{self.path.name} was aborted; its partial output is kept")
        try:
            try:
                self._finalise()
            except Exception as exc:
                self.finished = "aborted"
                raise SrpipeError(
                    f"finishing {self.path.name} failed ({exc}); partial output in "
                    f"{self.partial_path}"
                ) from None
            if self.frames_written == 0:
                self.finished = "aborted"
                self.partial_path.unlink(missing_ok=True)
                raise SrpipeError(f"no frames were written to {self.path.name}; nothing to save")
            os.replace(self.partial_path, self.path)
            self.finished = "closed"
        finally:
            self._lock.release()
        return self.path

    def abort(self) -> Path | None:
        """Stop writing: leave a playable ``NAME.partial.EXT`` (None when no frame was written)."""
        if self.finished:
            return self.partial_path if self.finished == "aborted" else self.path
        self.finished = "aborted"
        try:
            self._finalise()
        except Exception as exc:  # still leave what is on disk; say so
            log.warning("%s: could not finalise the partial video: %s", self.path.name, exc)
        finally:
            self._lock.release()
        if self.frames_written == 0:
            self.partial_path.unlink(missing_ok=True)
            return None
        return self.partial_path

    # -- stitching parts -----------------------------------------------------------------
    @property
    def joinable(self) -> bool:
        """Whether :meth:`join` can stitch files this writer wrote (PyAV: packets copy)."""
        return self.backend == "pyav"

    def join(
        self, parts: Sequence[str | os.PathLike[str]], path: str | os.PathLike[str], source: Any
    ) -> Path:
        """Stitch ``parts`` (videos written by writers like this one, in order) into ``path``.

        A distributed ``run`` has each rank write its range of frames to a part; this copies
        their packets one after the other (no re-encoding: every part starts on a key
        frame), shifting each part's timestamps to where its first frame lies in ``source``
        (the whole selection, as one writer would have been given), and copies the audio
        of the whole span from ``source`` as one writer would. The result goes to
        ``NAME.partial.EXT`` first and is renamed when complete; on failure it is removed
        (the parts are the caller's). Frames decode to what each part holds: identical to
        a single writer's with a lossless codec, re-encoded at part starts with a lossy one.
        """
        if not self.joinable or not parts:
            raise SrpipeError(f"cannot join {len(parts)} part(s) written by {self!r}")
        return _Joined(Path(path), self.fps, self.size, source).copy([Path(part) for part in parts])

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        w, h = self.size
        return f"FrameWriter({str(self.path)!r}, {w}x{h} at {self.fps:.3g} fps, {self.codec})"


def _pyav_has(encoder: str) -> bool:
    try:
        import av
    except ImportError:
        return False
    return encoder in av.codecs_available


class _Joined(FrameWriter):
    """A writer fed with encoded packets of part files instead of frames (see ``join``)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], source: Any) -> None:
        import av

        self.path, self.partial_path = path, partial_path_for(path)
        self.fps, self.size, self.source = float(fps), size, source
        self.frames_written, self.audio, self.finished = 0, "none", None
        self._check_writable()
        self._last_pts, self._first_time, self._audio_in = -1, None, None
        self._av, self.backend = av, "pyav"

    def copy(self, parts: list[Path]) -> Path:
        """Packets of every part, in order, then close (rename) or remove on failure."""
        av = self._av
        inputs: list[Any] = []
        try:
            inputs = [av.open(str(part)) for part in parts]
            streams = [container.streams.video[0] for container in inputs]
            template = streams[0]
            for part, stream in zip(parts, streams):
                same = (stream.codec_context.name, bytes(stream.codec_context.extradata or b""))
                if same != (
                    template.codec_context.name,
                    bytes(template.codec_context.extradata or b""),
                ):
                    raise SrpipeError(
                        f"{part.name} was encoded unlike {parts[0].name}; cannot join them"
                    )
            self._container = av.open(str(self.partial_path), mode="w")
            self._stream = self._container.add_stream_from_template(template)
            self._time_base = template.time_base
            self.codec = template.codec_context.name
            self._setup_audio(True)
            times = getattr(self.source, "timestamps", None)
            last_dts = None
            for container, stream in zip(inputs, streams):
                first = self.frames_written
                seconds = float(times[first] - times[0]) if times is not None else first / self.fps
                start = stream.start_time or 0
                shift = round(seconds / stream.time_base) - start
                for packet in container.demux(stream):
                    if packet.dts is None or not packet.size:
                        continue  # the demuxer's end-of-stream marker
                    packet.pts += shift
                    # parts of one encoder setup have one reordering delay, so decode times
                    # follow on; a variable-rate seam may still need a nudge
                    packet.dts = (
                        max(packet.dts + shift, last_dts + 1)
                        if last_dts is not None
                        else packet.dts + shift
                    )
                    last_dts = packet.dts
                    packet.stream = self._stream
                    self._container.mux(packet)
                    self._last_pts = max(self._last_pts, int(packet.pts))
                    self.frames_written += 1
                    self._mux_audio_until(self._last_pts * float(stream.time_base))
        except BaseException as exc:
            self.finished = "aborted"
            with contextlib.suppress(Exception):
                if hasattr(self, "_container"):
                    self._finalise()
            self.partial_path.unlink(missing_ok=True)
            self._lock.release()
            if isinstance(exc, SrpipeError | KeyboardInterrupt):
                raise
            raise SrpipeError(f"joining the parts of {self.path.name} failed: {exc}") from None
        finally:
            for container in inputs:
                container.close()
        return self.close()

    def _finalise(self) -> None:
        # the parts' packets were copied, not encoded here: there is no encoder to flush
        self._finish_audio_and_close()
