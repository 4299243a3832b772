"""Which frames make a classifier's clip: evenly spaced windows in eval, a sliding one in run.

A classifier sees ``clip_length`` frames at its own ``frame_rate``; a video at ``source_fps``
gives it every ``frame_step(source_fps, frame_rate)``-th frame. ``eval`` takes
``clips_per_video`` windows spread evenly over each video (torchvision's reference
evaluation does the same); ``run`` slides a window over the stream and classifies it every
``stride`` sampled frames. Both live here so that the two commands cut clips alike.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


def frame_step(source_fps: float, frame_rate: float) -> int:
    """Source frames between two frames of a clip (at least 1: never more frames than shot)."""
    if not source_fps or source_fps <= 0 or frame_rate <= 0:
        return 1
    return max(1, round(source_fps / frame_rate))


def clip_windows(total: int, clip_length: int, step: int, count: int) -> list[list[int]]:
    """``count`` windows of ``clip_length`` source frame indices, spread evenly over ``total``.

    A video shorter than one window repeats its last frame (as the reference code pads);
    windows never repeat: a short video gives fewer of them.
    """
    if total <= 0 or clip_length <= 0 or count <= 0:
        return []
    span = (clip_length - 1) * step + 1
    last_start = max(0, total - span)
    starts = sorted({int(s) for s in np.linspace(0, last_start, count).round()})
    return [[min(start + k * step, total - 1) for k in range(clip_length)] for start in starts]


@dataclass
class WindowResult:
    """One classified window of ``run``: its sampled frames' span and the probabilities."""

    index: int  # the window's number in the run, from 0
    first_frame: int  # frames the task had seen when the window began (0-based)
    last_frame: int
    probabilities: np.ndarray


class SlidingWindows:
    """A stream of frames in, a classified window out every ``stride`` sampled frames.

    ``prepare`` turns a frame into the classifier's input (resized and cropped, small), so the
    window never holds full-size frames; ``classify`` maps a list of clips to probabilities.
    """

    def __init__(
        self,
        clip_length: int,
        step: int,
        stride: int,
        prepare: Callable[[np.ndarray], np.ndarray],
        classify: Callable[[list[list[np.ndarray]]], Any],
    ) -> None:
        self.clip_length = clip_length
        self.step = max(1, step)
        self.stride = max(1, stride)
        self._prepare = prepare
        self._classify = classify
        self._frames: deque[tuple[int, np.ndarray]] = deque(maxlen=clip_length)
        self._seen = 0
        self._sampled = 0
        self._windows = 0

    def push(self, image: np.ndarray) -> WindowResult | None:
        """Feed the next frame; the window it completes, if any."""
        index = self._seen
        self._seen += 1
        if index % self.step:
            return None
        self._frames.append((index, self._prepare(image)))
        self._sampled += 1
        full = len(self._frames) == self.clip_length
        if not full or (self._sampled - self.clip_length) % self.stride:
            return None
        probabilities = np.asarray(self._classify([[f for _, f in self._frames]]))[0]
        result = WindowResult(self._windows, self._frames[0][0], index, probabilities)
        self._windows += 1
        return result
