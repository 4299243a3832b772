"""Upscaler: classic methods, tiny models, tiling, batching, ensemble, precision, OOM retry."""

from __future__ import annotations

import copy
import hashlib
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from srpipe.errors import SrpipeError
from srpipe.image.io import Picture
from srpipe.image.resize import imresize
from srpipe.upscaling.tiling import spans
from srpipe.upscaling.upscaler import Upscaler


class TinySR(nn.Module):
    """Two 3x3 convolutions + pixel shuffle over a nearest-upsampled skip (receptive radius 2)."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = nn.functional.interpolate(x, scale_factor=self.scale, mode="nearest")
        return skip + 0.1 * self.shuffle(self.conv2(torch.relu(self.conv1(x))))


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return TinySR(2)


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (29, 41, 3), dtype=np.uint8)


def test_classic_methods_are_matlab_resize(image):
    for method in ("nearest", "bilinear", "bicubic"):
        up = Upscaler(method, 3)
        assert up.weights_hash is None and up.name == method
        np.testing.assert_array_equal(up(image), imresize(image, 3, method=method))


def test_none_is_identity(image):
    np.testing.assert_array_equal(Upscaler("none", 1)(image), image)


def test_model_output_shape_and_dtype(tiny, image):
    up = Upscaler.from_module(tiny, 2, name="tiny", weights_hash="abc", device="cpu")
    out = up(image)
    assert out.shape == (58, 82, 3) and out.dtype == np.uint8
    assert up.name == "tiny" and up.weights_hash == "abc" and up.kind == "model"


def test_uint8_output_is_clamped_rounded_float(tiny, image):
    up = Upscaler.from_module(tiny, 2, device="cpu")
    ref = up.upscale_float(image / 255.0)
    np.testing.assert_array_equal(up(image), np.floor(ref * 255 + 0.5).astype(np.uint8))


@pytest.mark.parametrize(("tile", "overlap"), [(8, 4), (10, 6), (16, 8), (13, 16)])
def test_tiled_equals_untiled(tiny, image, tile, overlap):
    whole = Upscaler.from_module(tiny, 2, device="cpu").upscale_float(image / 255.0)
    tiled = Upscaler.from_module(tiny, 2, device="cpu", tile=tile, tile_overlap=overlap)
    np.testing.assert_allclose(tiled.upscale_float(image / 255.0), whole, atol=1e-3)
    # and the uint8 path agrees up to a rounding step
    assert np.abs(tiled(image).astype(int) - np.floor(whole * 255 + 0.5)).max() <= 1


def test_small_overlap_still_blends_without_seams(tiny, image):
    # overlap below the receptive field: not exact, but close and finite everywhere
    whole = Upscaler.from_module(tiny, 2, device="cpu").upscale_float(image / 255.0)
    tiled = Upscaler.from_module(tiny, 2, device="cpu", tile=8, tile_overlap=2)
    diff = np.abs(tiled.upscale_float(image / 255.0) - whole)
    assert np.isfinite(diff).all() and diff.max() < 0.1


def test_spans_cover_and_blend_weights_sum_to_one():
    from srpipe.upscaling.tiling import _ramp

    for length, tile, overlap in [(29, 8, 4), (100, 32, 16), (7, 10, 4), (50, 7, 30)]:
        parts = spans(length, tile, overlap)
        assert parts[0].core[0] == 0 and parts[-1].core[1] == length
        assert all(a.core[1] == b.core[0] for a, b in itertools.pairwise(parts))
        assert all(p.core[1] - p.core[0] <= tile for p in parts)
        total = np.zeros(length * 3)
        for p in parts:
            total[p.keep[0] * 3 : p.keep[1] * 3] += _ramp(p, length, 3)
        np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_batch_of_mixed_sizes_matches_single_calls(tiny):
    rng = np.random.default_rng(1)
    imgs = [
        rng.integers(0, 256, shape, dtype=np.uint8)
        for shape in [(10, 12, 3), (10, 12, 3), (9, 7, 3), (10, 12, 3)]
    ]
    up = Upscaler.from_module(tiny, 2, device="cpu", batch_size=2)
    outs = up.upscale_batch(imgs)
    for img, out in zip(imgs, outs):
        # batched and single forwards may differ in float summation order only
        assert np.abs(out.astype(int) - up(img).astype(int)).max() <= 1


def test_self_ensemble_averages_eight_transforms(tiny, image):
    up = Upscaler.from_module(tiny, 2, device="cpu", self_ensemble=True)
    got = up.upscale_float(image / 255.0)
    x = torch.from_numpy(image / 255.0).float().permute(2, 0, 1)[None]
    outs = []
    with torch.no_grad():
        for k in range(4):
            for flip in (False, True):
                t = torch.rot90(x, k, (2, 3))
                t = t.flip(3) if flip else t
                y = tiny(t)
                y = y.flip(3) if flip else y
                outs.append(torch.rot90(y, -k, (2, 3)))
    ref = torch.stack(outs).mean(0)[0].permute(1, 2, 0).clamp(0, 1).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-5)
    plain = Upscaler.from_module(tiny, 2, device="cpu").upscale_float(image / 255.0)
    assert np.abs(got - plain).max() > 1e-4  # the ensemble really changes the output


def test_bf16_on_cpu_close_to_fp32(tiny, image):
    fp32 = Upscaler.from_module(tiny, 2, device="cpu").upscale_float(image / 255.0)
    bf16 = Upscaler.from_module(tiny, 2, device="cpu", precision="bf16").upscale_float(
        image / 255.0
    )
    assert np.abs(bf16 - fp32).max() < 0.02


def test_fp16_needs_cuda(tiny):
    with pytest.raises(SrpipeError, match="fp16 needs a CUDA GPU"):
        Upscaler.from_module(tiny, 2, device="cpu", precision="fp16")
    with pytest.raises(SrpipeError, match="unknown precision"):
        Upscaler.from_module(tiny, 2, device="cpu", precision="int8")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_cuda_without_gpu_is_a_clear_error(tiny):
    with pytest.raises(SrpipeError, match="no CUDA GPU"):
        Upscaler.from_module(tiny, 2, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(tiny, image):
    cpu = Upscaler.from_module(tiny, 2, device="cpu").upscale_float(image / 255.0)
    gpu = Upscaler.from_module(copy.deepcopy(tiny), 2, device="cuda", tile=12)
    np.testing.assert_allclose(gpu.upscale_float(image / 255.0), cpu, atol=1e-3)


def test_rejects_non_uint8_rgb(tiny):
    up = Upscaler.from_module(tiny, 2, device="cpu")
    with pytest.raises(SrpipeError, match="RGB uint8"):
        up(np.zeros((4, 4), np.uint8))
    with pytest.raises(SrpipeError, match="RGB uint8"):
        up(np.zeros((4, 4, 3), np.float32))


def test_wrong_scale_model_is_reported(tiny, image):
    up = Upscaler.from_module(tiny, 4, device="cpu")  # the module is really x2
    with pytest.raises(SrpipeError, match="x4 model"):
        up(image)


class _OomAbove(nn.Module):
    """Raises CUDA's OOM error for inputs larger than ``limit`` pixels a side."""

    def __init__(self, inner: nn.Module, limit: int) -> None:
        super().__init__()
        self.inner = inner
        self.limit = limit
        self.calls: list[tuple[int, int]] = []

    def forward(self, x):
        self.calls.append(tuple(x.shape[-2:]))
        if max(x.shape[-2:]) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.inner(x)


def test_out_of_memory_retries_with_smaller_tiles(tiny, image):
    wrapped = _OomAbove(tiny, limit=24)
    up = Upscaler.from_module(wrapped, 2, device="cpu", tile_overlap=4)
    out = up.upscale_float(image / 255.0)
    ref = Upscaler.from_module(tiny, 2, device="cpu").upscale_float(image / 255.0)
    np.testing.assert_allclose(out, ref, atol=1e-3)
    assert max(wrapped.calls[-1]) <= 24


def test_out_of_memory_gives_up_below_min_tile(tiny, image):
    up = Upscaler.from_module(_OomAbove(tiny, limit=1), 2, device="cpu")
    with pytest.raises(SrpipeError, match="out of cpu memory"):
        up(image)


def test_tiles_come_from_the_memory_budget(tiny, image):
    probe = Upscaler.from_module(tiny, 2, device="cpu")
    whole = probe.bytes_per_pixel() * image.shape[0] * image.shape[1]
    assert probe._tile_for(*image.shape[:2]) == 0  # the default budget holds this image
    wrapped = _OomAbove(tiny, limit=10_000)
    up = Upscaler.from_module(wrapped, 2, device="cpu", tile_overlap=4, memory=int(whole / 3))
    out = up.upscale_float(image / 255.0)
    seen = wrapped.calls[1:]  # calls[0] is the 16x16 probe
    assert len(seen) > 1 and max(max(c) for c in seen) < max(image.shape[:2])
    ref = Upscaler.from_module(tiny, 2, device="cpu").upscale_float(image / 255.0)
    np.testing.assert_allclose(out, ref, atol=1e-3)


def test_batch_size_comes_from_the_memory_budget(tiny, image):
    batches = []

    class Counting(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = tiny

        def forward(self, x):
            batches.append(x.shape[0])
            return self.inner(x)

    probe = Upscaler.from_module(tiny, 2, device="cpu")
    one = probe.bytes_per_pixel() * image.shape[0] * image.shape[1] + probe._image_bytes(
        *image.shape[:2]
    )
    up = Upscaler.from_module(Counting(), 2, device="cpu", batch_size=4, memory=int(2.5 * one))
    outs = up.upscale_batch([image] * 4)
    assert batches[1:] == [2, 2]  # batches[0] is the probe
    np.testing.assert_array_equal(outs[3], probe(image))


def test_picture_16bit_alpha_grey(tiny):
    rng = np.random.default_rng(2)
    rgb16 = rng.integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    alpha16 = rng.integers(0, 65536, (9, 11), dtype=np.uint16)
    up = Upscaler.from_module(tiny, 2, device="cpu")
    out = up.upscale_picture(Picture(rgb=rgb16, alpha=alpha16, bit_depth=16))
    assert out.bit_depth == 16 and out.rgb.dtype == np.uint16 and out.rgb.shape == (18, 22, 3)
    assert out.alpha.dtype == np.uint16 and out.alpha.shape == (18, 22)
    # 16-bit keeps more than 256 levels
    assert len(np.unique(out.rgb)) > 256
    alpha8 = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    grey = np.repeat(rng.integers(0, 256, (9, 11, 1), dtype=np.uint8), 3, axis=2)
    out8 = up.upscale_picture(Picture(rgb=grey, alpha=alpha8, grey=True))
    np.testing.assert_array_equal(out8.alpha, imresize(alpha8, 2))
    assert (out8.rgb[..., 0] == out8.rgb[..., 1]).all() and out8.grey


def test_checkpoint_path_sets_weights_hash(tmp_path, image):
    from srpipe.models.checkpoint import save_checkpoint
    from srpipe.models.networks.edsr import EDSR as build_edsr

    torch.manual_seed(0)
    hyper = {"n_resblocks": 1, "n_feats": 8}
    model = build_edsr(scale=2, **hyper)
    path = save_checkpoint(
        model, tmp_path / "tiny_edsr.safetensors", arch="edsr", scale=2, hyper=hyper
    )
    up = Upscaler(str(path), 2, device="cpu")
    assert up.weights_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert up.name == "tiny_edsr"  # a checkpoint is named after its file
    assert up(image).shape == (58, 82, 3)
    with pytest.raises(SrpipeError, match="x2"):
        Upscaler(str(path), 4, device="cpu")


def test_unknown_model_name_lists_known():
    with pytest.raises(SrpipeError, match="unknown SR model"):
        Upscaler("no-such-model", 4, device="cpu")


def test_fractional_scale_for_a_model_that_takes_any_scale():
    from srpipe.plugins import get_plugin_manager

    liif = get_plugin_manager().model("liif").build(scale=2.5, n_resblocks=1, n_feats=4, hidden=[8])
    up = Upscaler.from_module(liif, 2.5, device="cpu")
    out = up(np.zeros((6, 7, 3), dtype=np.uint8))
    assert out.shape == (15, 18, 3)  # MATLAB's ceil(6 * 2.5), ceil(7 * 2.5)
    assert up.scale == 2.5 and Upscaler("bicubic", 2.0).scale == 2


def test_fractional_scale_cannot_tile():
    with pytest.raises(SrpipeError, match="tiling needs an integer scale"):
        Upscaler("bicubic", 1.5, tile=64)


def test_fractional_scale_with_a_fixed_scale_model_is_one_line():
    with pytest.raises(SrpipeError, match=r"dat-light supports scales x2, x3, x4, not x3\.5"):
        Upscaler("dat_light", 3.5, device="cpu")


def test_single_channel_uint16_through_classic_and_model_paths():
    import torch

    img = (np.arange(12 * 10).reshape(12, 10) * 300 + 1000).astype(np.uint16)
    bicubic = Upscaler("bicubic", 2).upscale_batch([img])[0]
    np.testing.assert_array_equal(bicubic, imresize(img, 2.0))

    class Nearest(torch.nn.Module):  # a "model" whose output is easy to predict
        def forward(self, x):
            return torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")

    up = Upscaler.from_module(Nearest(), 2, device="cpu")
    out = up.upscale_batch([img])[0]
    # the stated rule: windowed to the image's own range, channel mean mapped back
    low, high = float(img.min()), float(img.max())
    window = ((img.astype(np.float32) - low) / (high - low)).astype(np.float64)
    expected = np.floor(np.repeat(np.repeat(window, 2, 0), 2, 1) * (high - low) + low + 0.5)
    assert out.dtype == np.uint16 and out.max() > 255
    np.testing.assert_allclose(out, expected, atol=1)
    constant = np.full((6, 6), 4000, dtype=np.uint16)
    assert (up.upscale_batch([constant])[0] == 4000).all()


def _cpu_without_native_bf16(monkeypatch) -> None:
    from srpipe.upscaling import hardware

    avx2 = hardware.Hardware(
        cpu="AVX2 CPU", cores=2, flags=("avx2", "fma"), native_bf16_cpu=False,
        native_fp16_cpu=False, peaks={"cpu fp32": 130.0, "cpu bf16": 13.0},
    )  # fmt: skip
    monkeypatch.setattr(hardware, "detect", lambda measure=True, refresh=False: avx2)


def test_bf16_where_emulated_runs_fp32_says_so_and_describe_says_why(
    tiny, monkeypatch, caplog
) -> None:
    _cpu_without_native_bf16(monkeypatch)
    up = Upscaler.from_module(tiny, 2, device="cpu", precision="bf16")
    assert up.precision == "fp32" and up.requested_precision == "bf16"
    warned = [r.getMessage() for r in caplog.records if "bf16" in r.getMessage()]
    assert len(warned) == 1 and "\n" not in warned[0] and "10.0x slower" in warned[0]
    described = up.describe()
    assert described["precision"] == "fp32" and "emulated" in described["precision_reason"]
    exact = Upscaler.from_module(tiny, 2, device="cpu", precision="fp32")
    image = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    assert np.array_equal(up(image), exact(image))  # really ran fp32


def test_auto_uses_the_recorded_exactness_of_the_model(tiny, monkeypatch) -> None:
    from srpipe.models import zoo

    _cpu_without_native_bf16(monkeypatch)
    monkeypatch.setitem(zoo.BF16_AGREEMENT, ("custom", 2), 0.9999)
    up = Upscaler.from_module(tiny, 2, device="cpu", precision="auto")
    assert up.precision == "fp32" and "emulated" in up.describe()["precision_reason"]
    native = _native_bf16_hardware()
    monkeypatch.setattr(
        "srpipe.upscaling.hardware.detect", lambda measure=True, refresh=False: native
    )
    assert Upscaler.from_module(tiny, 2, device="cpu", precision="auto").precision == "bf16"
    monkeypatch.setitem(zoo.BF16_AGREEMENT, ("custom", 2), 0.99)
    assert Upscaler.from_module(tiny, 2, device="cpu", precision="auto").precision == "fp32"


def _native_bf16_hardware():
    from srpipe.upscaling import hardware

    return hardware.Hardware(
        cpu="AMX CPU", cores=2, flags=("avx512_bf16", "amx_bf16"), native_bf16_cpu=True,
        native_fp16_cpu=False,
    )  # fmt: skip


@pytest.mark.parametrize("method", ["bicubic", "model"])
def test_an_output_over_the_pixel_limit_is_refused_before_any_work(tiny, method, monkeypatch):
    monkeypatch.setenv("SRPIPE_MAX_PIXELS", "10000")
    calls: list[int] = []
    if method == "model":
        tiny.register_forward_hook(lambda *a: calls.append(1))
        up = Upscaler.from_module(tiny, 2, device="cpu")
    else:
        up = Upscaler("bicubic", 2)
    with pytest.raises(SrpipeError, match=r"x2 would make 102x102 pixels.*SRPIPE_MAX_PIXELS"):
        up(np.zeros((51, 51, 3), np.uint8))
    with pytest.raises(SrpipeError, match="over the"):
        up.upscale_float(np.zeros((51, 51, 3), np.float32))
    assert not calls
    assert up(np.zeros((50, 50, 3), np.uint8)).shape == (100, 100, 3)


def test_an_image_of_many_tiles_shows_progress(tiny, capsys) -> None:
    up = Upscaler.from_module(tiny, 2, device="cpu", tile=8, tile_overlap=2)
    up(np.zeros((40, 40, 3), np.uint8))  # 25 tiles
    assert "tile" in capsys.readouterr().err
    up(np.zeros((16, 16, 3), np.uint8))  # 4 tiles: no bar
    assert "tile" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "align"), [(70, 16, 16, 4), (45, 15, 10, 8), (20, 5, 3, 8)]
)
def test_aligned_spans_start_every_context_on_the_window_grid(length, tile, overlap, align):
    from srpipe.upscaling.tiling import _ramp

    parts = spans(length, tile, overlap, align)
    assert parts[0].core[0] == 0 and parts[-1].core[1] == length
    assert all(a.core[1] == b.core[0] for a, b in itertools.pairwise(parts))
    assert all(p.context[0] % align == 0 and p.core[0] % align == 0 for p in parts)
    # at least the asked overlap of context on every interior side
    assert all(p.core[0] - p.context[0] >= min(overlap, p.core[0]) for p in parts)
    total = np.zeros(length * 2)
    for p in parts:
        total[p.keep[0] * 2 : p.keep[1] * 2] += _ramp(p, length, 2)
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_alignment_one_cuts_as_before():
    assert [p.core for p in spans(29, 8, 4, 1)] == [p.core for p in spans(29, 8, 4)]
    assert [p.core for p in spans(29, 8, 4)] == [(0, 7), (7, 14), (14, 22), (22, 29)]


def test_image_within_the_overlap_runs_whole(tiny, image, monkeypatch):
    """Every tile would see the whole image as context: one whole forward gives the same."""
    from srpipe.upscaling import upscaler

    whole = Upscaler.from_module(tiny, 2, device="cpu")(image)
    monkeypatch.setattr(upscaler, "upscale_tiled", lambda *a, **k: pytest.fail("tiled"))
    up = Upscaler.from_module(tiny, 2, device="cpu", tile=8, tile_overlap=max(image.shape))
    np.testing.assert_array_equal(up(image), whole)


@pytest.mark.parametrize(
    ("length", "tile", "align"), [(100, 20, 8), (45, 15, 8), (70, 16, 4), (257, 64, 32)]
)
def test_aligned_cores_never_exceed_the_tile(length, tile, align):
    # rounding cuts to the window grid used to make cores longer than the tile that the
    # memory plan was made for (45 px, tile 15, windows of 8: a 24-px core)
    from srpipe.upscaling.tiling import aligned_cuts

    cuts = aligned_cuts(length, tile, align)
    assert cuts[0] == 0 and cuts[-1] == length
    assert all(c % align == 0 for c in cuts[1:-1])
    assert max(b - a for a, b in itertools.pairwise(cuts)) <= tile


def test_a_tile_below_the_window_gives_one_window_cores():
    from srpipe.upscaling.tiling import aligned_cuts

    cuts = aligned_cuts(40, 16, 32)
    assert cuts == [0, 32, 40]
