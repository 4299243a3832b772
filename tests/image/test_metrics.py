"""PSNR / SSIM / Y conversion: hand-computed values and agreement with scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srpipe.errors import SrpipeError
from srpipe.image.metrics import mae, mean, mse, psnr, rgb_to_y, ssim


def test_seed_mse_mae_examples():
    a = np.array([[1, 2], [3, 4]])
    b = np.array([[5, 2], [4, 1]])
    # the seed's worked examples: (16 + 0 + 1 + 9) / 4 and (4 + 0 + 1 + 3) / 4
    assert mse(a, b) == 6.5
    assert mae(a, b) == 2.0
    # the seed prints 0 for its second pair, but one pixel differs by 1: 1/4
    c = np.array([[1, 3], [3, 4]])
    assert mse(a, c) == 0.25
    assert mae(a, c) == 0.25
    assert mse(a, a) == 0.0


def test_psnr_hand_computed_rgb():
    hr = np.zeros((4, 4, 3), np.uint8)
    sr = hr.copy()
    sr[0, 0, 0] = 10  # one error of 10 among 48 values: MSE = 100 / 48
    expected = 10 * math.log10(255**2 / (100 / 48))
    assert psnr(sr, hr, y_channel=False) == pytest.approx(expected, abs=1e-12)


def test_psnr_hand_computed_y():
    hr = np.zeros((2, 2, 3), np.uint8)
    sr = hr.copy()
    sr[:, :, 1] = 255  # pure green: Y rises by 128.553 everywhere
    expected = 10 * math.log10(255**2 / 128.553**2)
    assert psnr(sr, hr) == pytest.approx(expected, abs=1e-12)


def test_identical_images_psnr_inf_ssim_one():
    img = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    assert psnr(img, img) == math.inf
    assert ssim(img, img) == pytest.approx(1.0)


def test_rgb_to_y_is_studio_swing_float():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [10, 20, 30]]], np.uint8)
    y = rgb_to_y(rgb)
    assert y.dtype == np.float64
    np.testing.assert_allclose(
        y[0], [16.0, 235.0, 16 + 65.481, 16 + (65.481 * 10 + 128.553 * 20 + 24.966 * 30) / 255]
    )
    # grey counts as three equal channels
    np.testing.assert_allclose(rgb_to_y(np.array([[255]], np.uint8)), [[235.0]])


def test_shave_drops_borders():
    hr = np.full((10, 10, 3), 100, np.uint8)
    sr = hr.copy()
    sr[0, :] = 0  # only the border row is wrong
    assert psnr(sr, hr, shave=1) == math.inf
    assert psnr(sr, hr, shave=0) < 30


def _pair(seed: int, shape=(48, 40, 3)):
    rng = np.random.default_rng(seed)
    hr = rng.integers(0, 256, shape, dtype=np.uint8)
    noise = rng.normal(0, 12, shape)
    sr = np.clip(np.rint(hr + noise), 0, 255).astype(np.uint8)
    return sr, hr


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_psnr_matches_skimage_rgb_and_y(seed):
    sr, hr = _pair(seed)
    assert psnr(sr, hr, y_channel=False) == pytest.approx(
        peak_signal_noise_ratio(hr, sr, data_range=255), abs=1e-10
    )
    assert psnr(sr, hr, shave=4) == pytest.approx(
        peak_signal_noise_ratio(rgb_to_y(hr[4:-4, 4:-4]), rgb_to_y(sr[4:-4, 4:-4]), data_range=255),
        abs=1e-10,
    )


def _sk_ssim(a, b, **kw):
    return structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        **kw,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssim_matches_skimage_rgb(seed):
    sr, hr = _pair(seed)
    expected = _sk_ssim(hr.astype(np.float64), sr.astype(np.float64), channel_axis=2)
    assert ssim(sr, hr, y_channel=False) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("seed", [3, 4])
def test_ssim_matches_skimage_y(seed):
    sr, hr = _pair(seed, (40, 52, 3))
    expected = _sk_ssim(rgb_to_y(hr[2:-2, 2:-2]), rgb_to_y(sr[2:-2, 2:-2]))
    assert ssim(sr, hr, shave=2) == pytest.approx(expected, abs=1e-10)


def test_mean_is_of_per_image_values():
    assert mean([30.0, 40.0]) == 35.0
    with pytest.raises(SrpipeError):
        mean([])


def test_bad_inputs_raise_one_line_errors():
    a = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(SrpipeError, match="differ in size"):
        psnr(a, np.zeros((20, 21, 3), np.uint8))
    with pytest.raises(SrpipeError, match="too small"):
        psnr(a, a, shave=10)
    with pytest.raises(SrpipeError, match="at least 11x11"):
        ssim(a[:10, :10], a[:10, :10])


# -- bit depth and data range ----------------------------------------------------------------
def test_uint16_is_measured_on_its_own_scale():
    rng = np.random.default_rng(5)
    hr = rng.integers(0, 65536, size=(24, 24, 3)).astype(np.uint16)
    sr = np.clip(hr.astype(np.int64) + rng.integers(-900, 900, size=hr.shape), 0, 65535)
    sr = sr.astype(np.uint16)
    # the same images as floats on the 8-bit scale score the same (Y line scaled to 65535)
    for y_channel in (True, False):
        a = psnr(sr, hr, y_channel=y_channel)
        b = psnr(sr / 257.0, hr / 257.0, y_channel=y_channel)
        assert a == pytest.approx(b, rel=1e-12)
        assert ssim(sr, hr, y_channel=y_channel) == pytest.approx(
            ssim(sr / 257.0, hr / 257.0, y_channel=y_channel), rel=1e-9
        )


def test_data_range_sets_the_peak():
    hr = np.linspace(-1000, 3000, 400).reshape(20, 20)
    sr = hr + 8.0
    assert psnr(sr, hr, y_channel=False, data_range=4096) == pytest.approx(
        10 * np.log10(4096**2 / 64.0)
    )
    with pytest.raises(SrpipeError, match="data_range must be positive"):
        psnr(sr, hr, data_range=0)


def test_uint8_results_are_unchanged_by_the_bit_depth_paths():
    rng = np.random.default_rng(9)
    hr = rng.integers(0, 256, size=(20, 20, 3)).astype(np.uint8)
    sr = np.clip(hr.astype(int) + rng.integers(-9, 9, size=hr.shape), 0, 255).astype(np.uint8)
    y_sr = 16.0 + (sr.astype(np.float64) @ [65.481, 128.553, 24.966]) / 255.0
    y_hr = 16.0 + (hr.astype(np.float64) @ [65.481, 128.553, 24.966]) / 255.0
    hand = 10.0 * np.log10(255.0**2 / np.mean((y_sr - y_hr) ** 2))
    assert psnr(sr, hr) == hand == psnr(sr, hr, data_range=255)
    assert ssim(sr, hr) == ssim(sr, hr, data_range=255.0)
