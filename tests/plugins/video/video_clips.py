"""Tiny synthetic videos for the video plugin tests (a uniquely named helper module)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

SIZE = (64, 48)  # width, height


def synthetic_frame(index: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """An RGB frame whose brightness encodes ``index`` and whose square moves 2 px a frame."""
    w, h = size
    frame = np.full((h, w, 3), (20 + 10 * index) % 256, dtype=np.uint8)
    x = 4 + 2 * (index % 20)
    frame[10:26, x : x + 16] = (250, 40, 40)
    return frame


def write_cv2_video(
    path: Path,
    count: int = 12,
    fps: float = 10.0,
    fourcc: str = "mp4v",
    size: tuple[int, int] = SIZE,
) -> Path:
    """A constant-rate video written by OpenCV (what most users' clips look like)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened()
    for i in range(count):
        writer.write(cv2.cvtColor(synthetic_frame(i, size), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_av_video(
    path: Path, times: Sequence[float], *, audio_seconds: float = 0.0, faststart: bool = False
) -> Path:
    """An H.264 video with frames at ``times`` (seconds) and optionally an AAC sine track."""
    import av

    options = {"movflags": "faststart"} if faststart else {}
    container = av.open(str(path), "w", options=options)
    stream = container.add_stream("libx264", rate=10)
    stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
    stream.time_base = Fraction(1, 1000)
    stream.codec_context.time_base = Fraction(1, 1000)
    audio = None
    if audio_seconds:
        audio = container.add_stream("aac", rate=16000, layout="mono")
    for i, t in enumerate(times):
        frame = av.VideoFrame.from_ndarray(synthetic_frame(i), format="rgb24")
        frame.pts = round(t * 1000)
        frame.time_base = Fraction(1, 1000)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    if audio is not None:
        rate, chunk = 16000, 1024
        samples = np.sin(np.arange(int(rate * audio_seconds)) * 2 * np.pi * 440 / rate)
        samples = (samples * 0.3).astype(np.float32)
        for start in range(0, len(samples), chunk):
            block = samples[start : start + chunk][None, :]
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    container.close()
    return path
