"""Which frames make a classifier's clip: eval windows and run's sliding window."""

from __future__ import annotations

import numpy as np


def test_frame_step_samples_the_classifier_rate() -> None:
    from srpipe_action.sampling import frame_step

    assert frame_step(30.0, 15.0) == 2
    assert frame_step(25.0, 15.0) == 2
    assert frame_step(30.0, 7.5) == 4
    assert frame_step(10.0, 15.0) == 1  # never more frames than were shot
    assert frame_step(0.0, 15.0) == 1


def test_clip_windows_spread_evenly_and_pad_short_videos() -> None:
    from srpipe_action.sampling import clip_windows

    assert clip_windows(20, 4, 2, 2) == [[0, 2, 4, 6], [13, 15, 17, 19]]
    assert clip_windows(5, 4, 2, 3) == [[0, 2, 4, 4]]  # shorter than a window: one, padded
    assert clip_windows(0, 4, 2, 2) == []


def test_sliding_windows_classify_every_stride_sampled_frames() -> None:
    from srpipe_action.sampling import SlidingWindows

    seen: list[list[int]] = []

    def classify(clips):
        seen.append([int(f[0, 0, 0]) for f in clips[0]])
        return np.array([[0.25, 0.75]])

    windows = SlidingWindows(3, step=2, stride=2, prepare=lambda im: im, classify=classify)
    done = [windows.push(np.full((2, 2, 3), i, np.uint8)) for i in range(12)]
    results = [r for r in done if r is not None]
    # sampled frames 0,2,4,...: windows end at sampled frames 3 and 5 (frames 4 and 8)
    assert seen == [[0, 2, 4], [4, 6, 8]]
    assert [(r.index, r.first_frame, r.last_frame) for r in results] == [(0, 0, 4), (1, 4, 8)]
    assert done[4] is results[0] and done[8] is results[1]
