"""Fixtures for the video plugin: tiny videos generated with OpenCV / PyAV in a temp folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from video_clips import write_av_video, write_cv2_video


@pytest.fixture
def cv2_video(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``cv2_video(name="clip.mp4", count=12, fps=10, fourcc="mp4v")``."""

    def make(name: str = "clip.mp4", **kwargs) -> Path:
        return write_cv2_video(tmp_path / name, **kwargs)

    return make


@pytest.fixture
def av_video(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``av_video(name, times, audio_seconds=0, faststart=False)`` (needs PyAV)."""
    pytest.importorskip("av")

    def make(name: str, times: Sequence[float], **kwargs) -> Path:
        return write_av_video(tmp_path / name, times, **kwargs)

    return make
