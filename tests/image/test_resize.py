"""MATLAB-imresize semantics, checked against a slow per-pixel implementation of the formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from srpipe.errors import SrpipeError
from srpipe.image.resize import (
    box,
    contributions,
    cubic,
    degrade,
    imresize,
    modcrop,
    output_length,
    triangle,
    upscale_classic,
)

# ---------------------------------------------------------------------------
# A deliberately naive reference: one output pixel at a time, straight from the
# definition in PROTOCOL.md (no caching, no vectorisation, no tap dropping).


def _ref_kernel(method: str, x: float) -> float:
    ax = abs(x)
    if method == "bicubic":
        if ax <= 1:
            return 1.5 * ax**3 - 2.5 * ax**2 + 1
        if ax <= 2:
            return -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
        return 0.0
    if method == "bilinear":
        return max(0.0, 1 - ax)
    return 1.0 if -0.5 <= x < 0.5 else 0.0


def _mirror(j: int, n: int) -> int:
    """1-based index j mirrored into 1..n with the edge pixel repeated."""
    period = 2 * n
    j = (j - 1) % period
    return j + 1 if j < n else period - j


def _ref_resize_1d(line: list[float], n_out: int, s: float, method: str, aa: bool) -> list[float]:
    n_in = len(line)
    width = {"bicubic": 4.0, "bilinear": 2.0, "nearest": 1.0}[method]
    shrink = s < 1 and aa and method != "nearest"
    if shrink:
        width /= s
    out = []
    for x in range(1, n_out + 1):
        u = x / s + 0.5 * (1 - 1 / s)
        first = math.floor(u - width / 2)
        terms = []
        for j in range(first, first + math.ceil(width) + 2):
            w = s * _ref_kernel(method, s * (u - j)) if shrink else _ref_kernel(method, u - j)
            terms.append((w, line[_mirror(j, n_in) - 1]))
        total = sum(w for w, _ in terms)
        out.append(sum(w * v for w, v in terms) / total)
    return out


def _ref_imresize(img: np.ndarray, sh: float, sw: float, oh: int, ow: int, method: str, aa=True):
    """Separable reference in MATLAB order, rounding uint8 after each pass."""
    is_uint8 = img.dtype == np.uint8
    x = img.astype(np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    passes = [(0, sh, oh), (1, sw, ow)]
    if sw < sh:
        passes.reverse()
    for axis, s, n in passes:
        if axis == 0:
            res = np.empty((n, x.shape[1], x.shape[2]))
            for c in range(x.shape[2]):
                for col in range(x.shape[1]):
                    res[:, col, c] = _ref_resize_1d(list(x[:, col, c]), n, s, method, aa)
        else:
            res = np.empty((x.shape[0], n, x.shape[2]))
            for c in range(x.shape[2]):
                for row in range(x.shape[0]):
                    res[row, :, c] = _ref_resize_1d(list(x[row, :, c]), n, s, method, aa)
        x = res
        if is_uint8:
            x = np.floor(np.clip(x, 0, 255) + 0.5)
    if img.ndim == 2:
        x = x[:, :, 0]
    return x


# ---------------------------------------------------------------------------


def test_cubic_kernel_values():
    xs = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, -0.5, -1.5])
    expected = [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0, 0.5625, -0.0625]
    np.testing.assert_allclose(cubic(xs), expected, atol=1e-15)


def test_triangle_and_box_kernel_values():
    np.testing.assert_allclose(
        triangle(np.array([-1.0, -0.5, 0.0, 0.25, 1.0, 1.5])), [0.0, 0.5, 1.0, 0.75, 0.0, 0.0]
    )
    # MATLAB's box is half-open: [-0.5, 0.5)
    np.testing.assert_array_equal(box(np.array([-0.5, 0.0, 0.49, 0.5, 1.0])), [1, 1, 1, 0, 0])


def test_contributions_rows_sum_to_one_and_mirror():
    weights, indices = contributions(5, 2, 0.5, "bicubic", True)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert indices.min() >= 0 and indices.max() <= 4
    # output pixel 1 of a x0.5 shrink sits at u = 1.5 with support 8: it reads input
    # pixels -2..5 (1-based), mirrored with the edge repeated (0-based below)
    np.testing.assert_array_equal(indices[0], [2, 1, 0, 0, 1, 2, 3, 4])


@pytest.mark.parametrize(
    ("shape", "scale", "expected"),
    [
        ((10, 13), 1 / 3, (4, 5)),
        ((7, 5), 2.5, (18, 13)),
        ((300, 299), 1 / 3, (100, 100)),
        ((8, 8), 0.25, (2, 2)),
        ((5, 6), 4, (20, 24)),
    ],
)
def test_output_size_is_ceil(shape, scale, expected):
    img = np.zeros((*shape, 3), np.uint8)
    assert imresize(img, scale).shape == (*expected, 3)
    assert (output_length(shape[0], scale), output_length(shape[1], scale)) == expected


def test_output_size_argument_overrides_scale():
    img = np.random.default_rng(0).random((9, 11))
    assert imresize(img, output_size=(4, 20)).shape == (4, 20)


@pytest.mark.parametrize("method", ["nearest", "bilinear", "bicubic"])
def test_scale_one_is_identity(method):
    rng = np.random.default_rng(1)
    img8 = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(imresize(img8, 1.0, method=method), img8)
    imgf = rng.random((6, 7))
    np.testing.assert_array_equal(imresize(imgf, 1, method=method), imgf)


@pytest.mark.parametrize("method", ["bicubic", "bilinear", "nearest"])
@pytest.mark.parametrize("scale", [0.25, 1 / 3, 0.5, 0.7, 1.5, 2, 3, 4])
def test_float_matches_direct_formula(method, scale):
    rng = np.random.default_rng(int(scale * 100))
    img = rng.random((9, 11, 2))
    out = imresize(img, scale, method=method)
    oh, ow = output_length(9, scale), output_length(11, scale)
    ref = _ref_imresize(img, scale, scale, oh, ow, method)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-5, rtol=0)


def test_anisotropic_scale_follows_matlab_order():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (12, 10), dtype=np.uint8)
    out = imresize(img, (2.0, 0.5))  # W has the smaller scale: resized first
    ref = _ref_imresize(img, 2.0, 0.5, 24, 5, "bicubic")
    np.testing.assert_array_equal(out, ref.astype(np.uint8))


@pytest.mark.parametrize("scale", [0.25, 1 / 3, 0.5, 2, 3])
def test_uint8_rounds_after_each_pass(scale):
    rng = np.random.default_rng(7)
    # hard 0/255 edges make bicubic overshoot, which must saturate, not wrap
    img = (rng.random((10, 12, 3)) > 0.5).astype(np.uint8) * 255
    img[::3] = rng.integers(0, 256, img[::3].shape, dtype=np.uint8)
    out = imresize(img, scale)
    assert out.dtype == np.uint8
    ref = _ref_imresize(img, scale, scale, *out.shape[:2], "bicubic")
    np.testing.assert_array_equal(out, ref.astype(np.uint8))


def test_constant_image_stays_constant():
    img = np.full((13, 17, 3), 77, np.uint8)
    for s in (0.25, 0.5, 3):
        assert np.all(imresize(img, s) == 77)


def test_no_antialias_changes_downscale():
    img = np.random.default_rng(4).random((16, 16))
    assert not np.allclose(imresize(img, 0.5), imresize(img, 0.5, antialias=False))


def test_float32_in_float32_out():
    img = np.random.default_rng(5).random((8, 8, 3)).astype(np.float32)
    assert imresize(img, 2).dtype == np.float32


def test_torch_matches_numpy_cpu():
    rng = np.random.default_rng(6)
    img = rng.random((2, 3, 10, 14))
    for scale in (0.25, 0.5, 3):
        ref = np.stack([imresize(im.transpose(1, 2, 0), scale).transpose(2, 0, 1) for im in img])
        out32 = imresize(torch.from_numpy(img).float(), scale)
        assert out32.dtype == torch.float32
        np.testing.assert_allclose(out32.numpy(), ref, atol=1e-5)
        out3d = imresize(torch.from_numpy(img[0]), scale)
        np.testing.assert_allclose(out3d.numpy(), ref[0], atol=1e-12)


def test_torch_uint8_matches_numpy_uint8():
    img = np.random.default_rng(8).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    ref = imresize(img, 0.5)
    out = imresize(torch.from_numpy(img).permute(2, 0, 1).contiguous(), 0.5)
    assert out.dtype == torch.uint8
    np.testing.assert_array_equal(out.permute(1, 2, 0).numpy(), ref)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_torch_cuda_matches_cpu():
    x = torch.rand(1, 3, 20, 24)
    np.testing.assert_allclose(
        imresize(x.cuda(), 0.25).cpu().numpy(), imresize(x, 0.25).numpy(), atol=1e-6
    )


def test_modcrop_and_degrade():
    hr = np.random.default_rng(9).integers(0, 256, (23, 18, 3), dtype=np.uint8)
    assert modcrop(hr, 4).shape == (20, 16, 3)
    assert modcrop(torch.zeros(1, 3, 23, 18), 4).shape == (1, 3, 20, 16)
    lr = degrade(hr, 4)
    assert lr.shape == (5, 4, 3) and lr.dtype == np.uint8
    np.testing.assert_array_equal(lr, imresize(hr[:20, :16], 0.25))


def test_degrade_rejects_tiny_and_float():
    with pytest.raises(SrpipeError):
        degrade(np.zeros((3, 3, 3), np.uint8), 4)
    with pytest.raises(SrpipeError):
        degrade(np.zeros((8, 8, 3), np.float32), 2)


def test_upscale_classic_methods():
    lr = np.random.default_rng(10).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    for method in ("nearest", "bilinear", "bicubic"):
        assert upscale_classic(lr, 4, method).shape == (20, 24, 3)
    # nearest x2 repeats each pixel in a 2x2 block
    np.testing.assert_array_equal(upscale_classic(lr, 2, "nearest"), lr.repeat(2, 0).repeat(2, 1))
    with pytest.raises(SrpipeError):
        upscale_classic(lr, 2, "lanczos")


@pytest.mark.parametrize("method", ["nearest", "bilinear", "bicubic"])
def test_integer_scales_are_flip_equivariant(method):
    # symmetric kernel + symmetric padding + MATLAB's centred coordinates
    img = np.random.default_rng(11).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    for scale in (2, 3, 4):
        up = imresize(img, scale, method=method)
        np.testing.assert_array_equal(imresize(img[:, ::-1], scale, method=method), up[:, ::-1])
        np.testing.assert_array_equal(imresize(img[::-1], scale, method=method), up[::-1])


def test_torch_kernel_path_matches_numpy_route(monkeypatch):
    """The gather-and-sum torch code (used on GPUs, under autograd and tracing) on the CPU."""
    import srpipe.image.resize as resize

    rng = np.random.default_rng(12)
    img_f = torch.from_numpy(rng.random((2, 3, 11, 9))).float()
    img_u8 = torch.from_numpy(rng.integers(0, 256, (3, 11, 9), dtype=np.uint8))
    routed = [imresize(img_f, s) for s in (0.5, 3)] + [imresize(img_u8, 0.5)]
    monkeypatch.setattr(resize, "_numpy_eligible", lambda img: False)
    direct = [imresize(img_f, s) for s in (0.5, 3)] + [imresize(img_u8, 0.5)]
    for a, b in zip(routed, direct):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a.double().numpy(), b.double().numpy(), atol=1e-5)


def test_torch_resize_is_differentiable():
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    y = imresize(x, 2)
    y.sum().backward()
    # every output row's weights sum to 1 in both passes: each input pixel gets the sum of
    # its weights, and the total gradient equals the number of output pixels per channel
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.sum().item(), 3 * 16 * 16, rtol=1e-5)


# -- 16-bit data (medical and scientific images) ------------------------------------------
def test_uint16_is_rounded_to_uint16_after_each_pass_like_matlab():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 65536, size=(23, 17)).astype(np.uint16)
    out = imresize(img, 0.5)
    assert out.dtype == np.uint16
    # reference: each pass in float64, rounded half up with saturation to uint16 between passes
    step = imresize(img.astype(np.float64), (0.5, 1.0))
    step = np.floor(np.clip(step, 0, 65535) + 0.5)
    ref = np.floor(np.clip(imresize(step, (1.0, 0.5)), 0, 65535) + 0.5)
    np.testing.assert_array_equal(out, ref.astype(np.uint16))


def test_uint16_agrees_with_uint8_when_nothing_saturates():
    y, x = np.mgrid[0:30, 0:40]
    img8 = (60 + 2 * x + y).astype(np.uint8)  # smooth: bicubic overshoot stays inside 0..255
    np.testing.assert_array_equal(imresize(img8.astype(np.uint16), 2.0), imresize(img8, 2.0))
    np.testing.assert_array_equal(degrade(img8.astype(np.uint16), 2), degrade(img8, 2))


def test_degrade_keeps_values_beyond_255():
    img = (np.arange(32 * 32).reshape(32, 32) * 40).astype(np.uint16)
    lr = degrade(img, 4)
    assert lr.dtype == np.uint16 and lr.max() > 255 and lr.shape == (8, 8)
