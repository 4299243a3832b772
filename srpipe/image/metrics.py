"""Image-quality metrics of the SR protocol: PSNR and SSIM on Y (or RGB) with a border shave.

Conventions (PROTOCOL.md), chosen to match BasicSR and RCAN's MATLAB scripts:

* Inputs are uint8 RGB images (H, W, 3) on the 0..255 scale; SR outputs must already be
  clamped and rounded to uint8 (``Upscaler`` does that). Float arrays are accepted and used
  as they are, on the same 0..255 scale. A grey (H, W) image counts as RGB with three equal
  channels, as the protocol replicates grey images.
* Y is ITU-R BT.601 *studio swing*, ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255``
  for R, G, B in 0..255, kept as **float64, not rounded** (the BasicSR convention; KAIR
  rounds Y to integers, which moves PSNR by about 0.01 dB). It is not OpenCV's full-range
  YCrCb.
* ``shave`` pixels are dropped on every side before measuring (the protocol uses the scale).
* PSNR is ``10 log10(255^2 / MSE)`` in float64 for one image; a dataset's figure is the mean
  of the per-image values (do the mean yourself, or use :func:`mean`). Identical images give
  ``inf``.
* SSIM is Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03,
  L = 255, 'valid' filtering (no padding), the mean of the SSIM map. On RGB it is the mean
  of the three channels' SSIMs (as scikit-image with ``channel_axis`` does).

Higher bit depths (medical and scientific images): uint16 inputs are measured on their own
scale, peak L = 65535, and their Y is the same studio-swing line scaled to that peak
(``16 * 65535 / 255 + (65.481 R + ...) / 255``), so a uint16 image scores exactly as its
float copy divided by 257 would on the 8-bit scale. ``data_range=`` overrides the peak L of
PSNR and SSIM (e.g. a CT window of 4096 HU, or an image's own value range); the values are
then used as they are (no Y conversion: pass ``y_channel=False``). uint8 inputs without
``data_range`` are measured exactly as before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from srpipe.errors import SrpipeError

#: BT.601 studio-swing coefficients for R, G, B in [0, 1] -> Y in [16, 235]
_Y_COEFFS = np.array([65.481, 128.553, 24.966], dtype=np.float64)

_SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5


def rgb_to_y(img: np.ndarray, peak: float = 255.0) -> np.ndarray:
    """BT.601 studio-swing luma of an RGB (H, W, 3) image on the 0..``peak`` scale, as float64.

    A grey (H, W) image is treated as RGB with three equal channels. ``peak`` 65535 gives
    the same line on the 16-bit scale (the offset 16 scaled by 65535 / 255).
    """
    x = np.asarray(img, dtype=np.float64)
    offset = 16.0 if peak == 255.0 else 16.0 * peak / 255.0
    if x.ndim == 2:
        return offset + x * (_Y_COEFFS.sum() / 255.0)
    if x.ndim != 3 or x.shape[2] != 3:
        raise SrpipeError(f"rgb_to_y expects an (H, W, 3) RGB image, got shape {x.shape}")
    return offset + (x @ _Y_COEFFS) / 255.0


def peak_of(img: np.ndarray) -> float:
    """The scale an image's values live on: 65535 for uint16, else 255 (uint8 and float)."""
    return 65535.0 if np.asarray(img).dtype == np.uint16 else 255.0


def _peak(sr: np.ndarray, hr: np.ndarray, data_range: float | None) -> float:
    if data_range is not None:
        if not data_range > 0:
            raise SrpipeError(f"data_range must be positive, got {data_range}")
        return float(data_range)
    return max(peak_of(sr), peak_of(hr))


def _prepare(
    sr: np.ndarray, hr: np.ndarray, shave: int, y_channel: bool, peak: float = 255.0
) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes, shave borders, convert to Y or keep RGB; returns float64 (H, W, C)."""
    sr = np.asarray(sr)
    hr = np.asarray(hr)
    if sr.shape != hr.shape:
        raise SrpipeError(
            f"images differ in size: {sr.shape} vs {hr.shape}; "
            "compare an SR output with the HR image it came from (modcrop the HR)"
        )
    if shave < 0:
        raise SrpipeError(f"shave must be >= 0, got {shave}")
    if shave:
        if sr.shape[0] <= 2 * shave or sr.shape[1] <= 2 * shave:
            raise SrpipeError(f"image {sr.shape[1]}x{sr.shape[0]} is too small to shave {shave}")
        sr = sr[shave:-shave, shave:-shave]
        hr = hr[shave:-shave, shave:-shave]
    if y_channel:
        return rgb_to_y(sr, peak)[:, :, None], rgb_to_y(hr, peak)[:, :, None]
    sr = sr.astype(np.float64)
    hr = hr.astype(np.float64)
    if sr.ndim == 2:
        sr, hr = sr[:, :, None], hr[:, :, None]
    return sr, hr


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error in float64 (the L2 loss of the seed)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise SrpipeError(f"arrays differ in shape: {a.shape} vs {b.shape}")
    return float(np.mean((a - b) ** 2))


def mae(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute error in float64 (the L1 loss of the seed)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise SrpipeError(f"arrays differ in shape: {a.shape} vs {b.shape}")
    return float(np.mean(np.abs(a - b)))


def psnr(
    sr: np.ndarray,
    hr: np.ndarray,
    *,
    shave: int = 0,
    y_channel: bool = True,
    data_range: float | None = None,
) -> float:
    """PSNR in dB of one image pair, on Y by default; ``inf`` when identical.

    The peak is ``data_range`` when given, else 255 (65535 for uint16 images).
    """
    peak = _peak(sr, hr, data_range)
    a, b = _prepare(sr, hr, shave, y_channel, max(peak_of(sr), peak_of(hr)))
    err = float(np.mean((a - b) ** 2))
    if err == 0:
        return math.inf
    return 10.0 * math.log10(peak**2 / err)


def _gaussian_window() -> np.ndarray:
    half = _SSIM_WINDOW // 2
    g = np.exp(-(np.arange(-half, half + 1, dtype=np.float64) ** 2) / (2 * _SSIM_SIGMA**2))
    return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of a 2-D float64 array with the 1-D window ``g``."""
    n = g.size
    rows = x.shape[0] - n + 1
    acc = g[0] * x[0:rows]
    for k in range(1, n):
        acc = acc + g[k] * x[k : k + rows]
    cols = acc.shape[1] - n + 1
    out = g[0] * acc[:, 0:cols]
    for k in range(1, n):
        out = out + g[k] * acc[:, k : k + cols]
    return out


def _ssim_plane(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    g = _gaussian_window()
    mu_a = _filter_valid(a, g)
    mu_b = _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a**2
    var_b = _filter_valid(b * b, g) - mu_b**2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(ssim_map.mean())


def ssim(
    sr: np.ndarray,
    hr: np.ndarray,
    *,
    shave: int = 0,
    y_channel: bool = True,
    data_range: float | None = None,
) -> float:
    """SSIM of one image pair (Gaussian 11x11, sigma 1.5, valid), on Y by default.

    L is ``data_range`` when given, else 255 (65535 for uint16 images).
    """
    peak = _peak(sr, hr, data_range)
    a, b = _prepare(sr, hr, shave, y_channel, max(peak_of(sr), peak_of(hr)))
    if a.shape[0] < _SSIM_WINDOW or a.shape[1] < _SSIM_WINDOW:
        raise SrpipeError(
            f"SSIM needs at least {_SSIM_WINDOW}x{_SSIM_WINDOW} pixels after shaving, "
            f"got {a.shape[1]}x{a.shape[0]}"
        )
    return float(np.mean([_ssim_plane(a[:, :, c], b[:, :, c], peak) for c in range(a.shape[2])]))


def mean(values: Iterable[float]) -> float:
    """The dataset figure: the mean of per-image values (never the PSNR of the mean MSE)."""
    values = list(values)
    if not values:
        raise SrpipeError("no per-image values to average")
    return float(np.mean(values))
