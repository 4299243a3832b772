"""Temporal warping error: zero for a still video, small for motion, large for flicker."""

from __future__ import annotations

import numpy as np
import pytest
from srpipe_video.temporal import (
    TemporalConsistency,
    estimate_flow,
    flicker_error,
    resize_flow,
    temporal_residual,
    warping_error,
)


def _texture(shape=(64, 80), seed=0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    noise = (rng.random((*shape, 3)) * 255).astype(np.uint8)
    return cv2.GaussianBlur(noise, (9, 9), 2.5)


def _moving(count: int) -> list[np.ndarray]:
    """A textured scene panning 1 px a frame (a crop of a wider texture)."""
    wide = _texture((64, 80 + count))
    return [np.ascontiguousarray(wide[:, i : i + 80]) for i in range(count)]


def _flicker(frames: list[np.ndarray], amplitude: int) -> list[np.ndarray]:
    sign = [1 if i % 2 else -1 for i in range(len(frames))]
    return [
        np.clip(f.astype(int) + s * amplitude, 0, 255).astype(np.uint8)
        for f, s in zip(frames, sign)
    ]


def test_identical_frames_have_zero_error():
    frame = _texture()
    assert warping_error(frame, frame.copy()) < 0.01
    tracker = TemporalConsistency()
    for _ in range(4):
        tracker.update(frame)
    assert len(tracker.errors) == 3 and tracker.mean < 0.01


def test_flicker_scores_far_above_smooth_motion():
    frames = _moving(6)
    smooth, flickery = TemporalConsistency(), TemporalConsistency()
    for clean, noisy in zip(frames, _flicker(frames, 12)):
        smooth.update(clean, reference=clean)
        flickery.update(noisy, reference=clean)  # same motion, flickering output
    assert smooth.mean < 3.0
    assert flickery.mean > smooth.mean + 15  # the brightness jumps 24 levels a frame


def test_flow_follows_the_motion_and_masks_are_mostly_valid():
    a, b = _moving(2)
    flow = estimate_flow(a, b)
    inner = flow.backward[8:-8, 8:-8]
    assert np.median(inner[..., 0]) == pytest.approx(1.0, abs=0.25)  # b(x) = a(x + 1)
    assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.25)
    assert flow.valid.mean() > 0.8


def test_reference_flow_is_resized_to_the_output():
    a, b = _moving(2)
    flow = resize_flow(estimate_flow(a, b), (160, 128))
    assert flow.size == (160, 128)
    assert np.median(flow.backward[16:-16, 16:-16, 0]) == pytest.approx(2.0, abs=0.5)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        warping_error(_texture(), _texture((32, 32)))


def test_flicker_error_is_zero_for_the_reference_and_does_not_reward_blur():
    import cv2

    a, b = _moving(2)
    flow = estimate_flow(a, b)
    reference = temporal_residual(a, b, flow)
    assert flicker_error(a, b, reference, flow) == 0.0
    blur_a, blur_b = (cv2.GaussianBlur(x, (0, 0), 2.0) for x in (a, b))
    # blur makes frames easier to warp onto each other than the real (textured) video...
    assert warping_error(blur_a, blur_b, flow) < warping_error(a, b, flow)
    # ...but its frame-to-frame change no longer matches the real one
    assert flicker_error(blur_a, blur_b, reference, flow) > 0.1
