"""Temporal consistency: how much an upscaled video flickers between consecutive frames.

Per-frame SR can be sharp on every frame and still shimmer over time, which hurts video
tasks (action recognition lost 4.5 points to it in the study cited in PROTOCOL.md). The
**warping error** (after Lai et al., "Learning Blind Video Temporal Consistency", ECCV 2018)
measures it:

1. estimate the optical flow between frames ``t-1`` and ``t`` of a *reference* video
   (the HR video in ``eval``; the output itself in ``run``), with OpenCV's Farnebäck
   method, both ways;
2. warp output frame ``t-1`` onto frame ``t`` along that flow;
3. mask out pixels that are occluded or where the flow is unreliable, with the
   forward-backward check of Sundaram et al. 2010 (invalid where
   ``|f_b + f_f(x + f_b)|² > 0.01 (|f_b|² + |f_f(x + f_b)|²) + 0.5``);
4. report the mean absolute difference, in 8-bit grey levels (0-255, RGB averaged), between
   output frame ``t`` and the warped frame ``t-1`` over the remaining pixels.

Identical frames give 0; content that moves consistently gives a small value (interpolation
and flow error); flicker adds its amplitude. Because a blurry video also warps easily, eval
reports a second number beside it, the **flicker error** (:func:`flicker_error`): the mean
absolute difference between the output's motion-compensated frame-to-frame change and the
HR video's, which is 0 for the HR video and grows with added flicker *and* lost real change.

Using the *same* reference flow for every upscaling method makes their errors directly
comparable: the difference between methods is flicker the method added (or removed). The
flow is estimated at most ``flow_max_side`` pixels wide (and scaled up), since Farnebäck on
4x-upscaled frames is slow and the flow is smooth; the errors are measured at full
resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Farnebäck parameters (OpenCV's documented example values): pyramid scale, levels,
#: window, iterations, polynomial neighbourhood and its sigma.
FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3,
             "poly_n": 5, "poly_sigma": 1.2, "flags": 0}  # fmt: skip


@dataclass
class FramePairFlow:
    """Backward flow of one frame pair (``t`` -> ``t-1``) and the pixels it is valid for."""

    backward: np.ndarray  # (H, W, 2) float32: frame t pixel x came from x + backward[x] in t-1
    valid: np.ndarray  # (H, W) bool: non-occluded, consistent flow

    @property
    def size(self) -> tuple[int, int]:
        return self.backward.shape[1], self.backward.shape[0]


def _grey(image: np.ndarray) -> np.ndarray:
    import cv2

    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def _farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.calcOpticalFlowFarneback(a, b, None, **FARNEBACK)


def _sample(field_: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``field_`` (H, W, C) read at ``x + flow(x)`` (bilinear, border replicated)."""
    import cv2

    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    # remap works on a 1/32-pixel grid and truncates towards -inf, so a flow of -1e-6
    # would shift a whole 1/32 px; rounding to that grid first keeps a zero flow exact.
    map_x = np.round((grid_x + flow[..., 0]) * 32.0) / 32.0
    map_y = np.round((grid_y + flow[..., 1]) * 32.0) / 32.0
    return cv2.remap(
        field_,
        map_x.astype(np.float32),
        map_y.astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def estimate_flow(
    previous: np.ndarray, current: np.ndarray, *, flow_max_side: int = 512
) -> FramePairFlow:
    """Farnebäck flow between two frames (RGB or grey) and its occlusion mask, at full size."""
    import cv2

    h, w = current.shape[:2]
    factor = min(1.0, flow_max_side / max(h, w))
    prev_g, cur_g = _grey(previous), _grey(current)
    if factor < 1.0:
        small = (max(1, round(w * factor)), max(1, round(h * factor)))
        prev_g = cv2.resize(prev_g, small, interpolation=cv2.INTER_AREA)
        cur_g = cv2.resize(cur_g, small, interpolation=cv2.INTER_AREA)
    backward = _farneback(cur_g, prev_g)
    forward = _farneback(prev_g, cur_g)
    forward_at = _sample(forward, backward)
    mismatch = np.sum((backward + forward_at) ** 2, axis=-1)
    magnitude = np.sum(backward**2, axis=-1) + np.sum(forward_at**2, axis=-1)
    valid = mismatch <= 0.01 * magnitude + 0.5
    if factor < 1.0:
        sy, sx = h / backward.shape[0], w / backward.shape[1]
        backward = cv2.resize(backward, (w, h), interpolation=cv2.INTER_LINEAR)
        backward[..., 0] *= sx
        backward[..., 1] *= sy
        valid = cv2.resize(valid.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return FramePairFlow(backward.astype(np.float32), valid)


def warp(image: np.ndarray, flow: FramePairFlow) -> np.ndarray:
    """Frame ``t-1`` warped onto frame ``t`` along ``flow`` (float32, same channels)."""
    return _sample(np.asarray(image, dtype=np.float32), flow.backward)


def warping_error(
    previous: np.ndarray, current: np.ndarray, flow: FramePairFlow | None = None
) -> float:
    """Mean |current - warp(previous)| (0-255) over valid pixels (module docstring).

    ``flow`` is the reference flow (e.g. of the HR frames, see :func:`estimate_flow`); when
    None it is estimated on ``previous``/``current`` themselves. Returns NaN when no pixel
    is valid (e.g. a scene cut).
    """
    if previous.shape != current.shape:
        raise ValueError(f"frames differ in shape: {previous.shape} vs {current.shape}")
    if flow is None:
        flow = estimate_flow(previous, current)
    if flow.size != (current.shape[1], current.shape[0]):
        raise ValueError(f"flow of size {flow.size} does not fit frames {current.shape[:2]}")
    if not flow.valid.any():
        return float("nan")
    diff = np.abs(np.asarray(current, dtype=np.float32) - warp(previous, flow))
    if diff.ndim == 3:
        diff = diff.mean(axis=-1)
    return float(diff[flow.valid].mean())


def temporal_residual(previous: np.ndarray, current: np.ndarray, flow: FramePairFlow) -> np.ndarray:
    """Signed frame-to-frame change left after motion: ``current - warp(previous)``, float32.

    Per pixel and channel, on the 0-255 scale; what :func:`flicker_error` compares.
    """
    if previous.shape != current.shape:
        raise ValueError(f"frames differ in shape: {previous.shape} vs {current.shape}")
    if flow.size != (current.shape[1], current.shape[0]):
        raise ValueError(f"flow of size {flow.size} does not fit frames {current.shape[:2]}")
    return np.asarray(current, dtype=np.float32) - warp(previous, flow)


def flicker_error(
    previous: np.ndarray,
    current: np.ndarray,
    reference_residual: np.ndarray,
    flow: FramePairFlow,
) -> float:
    """Mean |output change - reference change| (0-255) over valid pixels.

    ``reference_residual`` is :func:`temporal_residual` of the reference (HR) frames along
    the same ``flow``. The warping error alone rewards blur (a blurry video changes little
    from frame to frame); this compares the output's temporal change with the true video's,
    so the HR video scores exactly 0, and both added flicker and removed real change count
    (in the spirit of the tOF/tLP temporal metrics of video SR). NaN when no pixel is valid.
    """
    if not flow.valid.any():
        return float("nan")
    diff = np.abs(temporal_residual(previous, current, flow) - reference_residual)
    if diff.ndim == 3:
        diff = diff.mean(axis=-1)
    return float(diff[flow.valid].mean())


@dataclass
class TemporalConsistency:
    """Streaming warping error of a video: feed frames in order, read per-pair errors.

    ``update(frame)`` estimates the flow on the frames themselves; ``update(frame,
    reference=hr_frame)`` uses the reference video's flow (computed once per reference pair
    and shared by every method through :meth:`flow_for`). ``reset()`` at a scene cut or a
    new clip.
    """

    flow_max_side: int = 512
    errors: list[float] = field(default_factory=list)
    _previous: np.ndarray | None = None
    _previous_reference: np.ndarray | None = None

    def update(self, frame: np.ndarray, reference: np.ndarray | None = None) -> float | None:
        """Add the next frame; returns its warping error against the previous one (or None)."""
        error = None
        if self._previous is not None:
            if reference is not None and self._previous_reference is not None:
                flow = self.flow_for(self._previous_reference, reference, frame.shape[:2])
            else:
                flow = estimate_flow(self._previous, frame, flow_max_side=self.flow_max_side)
            error = warping_error(self._previous, frame, flow)
            self.errors.append(error)
        self._previous = frame
        self._previous_reference = reference
        return error

    def flow_for(
        self, previous_ref: np.ndarray, current_ref: np.ndarray, shape: tuple[int, ...]
    ) -> FramePairFlow:
        """Reference flow, resized to the output frames' ``shape`` if it differs."""
        flow = estimate_flow(previous_ref, current_ref, flow_max_side=self.flow_max_side)
        return resize_flow(flow, (shape[1], shape[0]))

    def reset(self) -> None:
        """Forget the previous frame (next ``update`` starts a new clip)."""
        self._previous = None
        self._previous_reference = None

    @property
    def mean(self) -> float:
        """Mean warping error over all frame pairs (NaN pairs ignored; NaN if none)."""
        values = [e for e in self.errors if e == e]
        return float(np.mean(values)) if values else float("nan")


def resize_flow(flow: FramePairFlow, size: tuple[int, int]) -> FramePairFlow:
    """``flow`` at ``size`` = (width, height), its vectors scaled accordingly."""
    import cv2

    if flow.size == size:
        return flow
    w, h = size
    sx, sy = w / flow.size[0], h / flow.size[1]
    backward = cv2.resize(flow.backward, (w, h), interpolation=cv2.INTER_LINEAR)
    backward[..., 0] *= sx
    backward[..., 1] *= sy
    valid = cv2.resize(flow.valid.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return FramePairFlow(backward, valid)
