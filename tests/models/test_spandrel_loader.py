"""Checkpoints srpipe does not know, loaded through spandrel (the optional extra)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from srpipe.cli import main
from srpipe.errors import SrpipeError

needs_spandrel = pytest.mark.skipif(
    not __import__("srpipe.models.spandrel_loader").models.spandrel_loader.spandrel_available(),
    reason="spandrel not installed (pip install 'srpipe[spandrel]')",
)


def _tiny_swinir_checkpoint(path):
    """A random-weight x2 SwinIR saved as the official checkpoints are (``{"params": ...}``)."""
    import torch
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(0)
    net = SwinIR(
        img_size=16,
        embed_dim=12,
        depths=[2],
        num_heads=[2],
        window_size=4,
        mlp_ratio=2.0,
        upscale=2,
        upsampler="pixelshuffle",
    )
    torch.save({"params": net.state_dict()}, path)
    return path


def _tiny_rrdbnet_checkpoint(path):
    import torch

    from srpipe.models.networks.rrdbnet import RRDBNet

    torch.manual_seed(1)
    # spandrel assumes ESRGAN's growth of 32 channels; the rest is read from the shapes
    net = RRDBNet(4, num_feat=8, num_block=1, num_grow_ch=32)
    torch.save({"params_ema": net.state_dict()}, path)
    return net, path


def _spandrel_forward(path, img: np.ndarray) -> np.ndarray:
    """spandrel's own load and call: the reference."""
    import torch
    from spandrel import ModelLoader

    descriptor = ModelLoader().load_from_file(str(path)).eval()
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        y = descriptor(x)
    return (y * 255).round()[0].permute(1, 2, 0).numpy().astype(np.uint8)


def _image(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    smooth = np.linspace(0, 255, width)[None, :, None] * np.ones((height, 1, 3))
    return np.clip(smooth + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8)


@needs_spandrel
@pytest.mark.parametrize(("tile", "size"), [(0, (30, 37)), (16, (30, 37)), (16, (45, 70))])
def test_swinir_through_sr_file_matches_spandrel(tmp_path, tile, size):
    from srpipe import Upscaler

    path = _tiny_swinir_checkpoint(tmp_path / "swinir_x2.pth")
    img = _image(*size)  # not a window multiple: spandrel's padding must run
    up = Upscaler(str(path), scale=2, device="cpu", tile=tile)
    ours = up(img).astype(int)
    reference = _spandrel_forward(path, img).astype(int)
    assert ours.shape == reference.shape == (2 * size[0], 2 * size[1], 3)
    assert up.weights_hash and up.meta["source"] == "spandrel" and up.meta["arch"] == "SwinIR"
    # tiles start on the image's window grid (window 4) with 4 windows of context
    assert (up.model.tile_alignment, up.model.min_tile_overlap) == (4, 16)
    assert np.abs(ours - reference).max() <= 1


@needs_spandrel
def test_swinir_tiles_off_the_window_grid_do_not_match(tmp_path):
    """The check above is not vacuous: the same tiles cut off the window grid disagree."""
    from srpipe import Upscaler

    path = _tiny_swinir_checkpoint(tmp_path / "swinir_x2.pth")
    img = _image(45, 70)
    up = Upscaler(str(path), scale=2, device="cpu", tile=15)
    up.model.tile_alignment = 1
    assert np.abs(up(img).astype(int) - _spandrel_forward(path, img).astype(int)).max() > 1


@needs_spandrel
@pytest.mark.parametrize("tile", [0, 16])
def test_rrdbnet_through_sr_file_matches_spandrel_tiled_and_untiled(tmp_path, tile):
    from srpipe import Upscaler

    _net, path = _tiny_rrdbnet_checkpoint(tmp_path / "esrgan_x4.pth")
    img = _image(40, 120)
    # 21 3x3 convolutions see at most 21 LR pixels around each output: the network asks for
    # twice that as overlap (half of it is blend band), so tiled equals untiled
    up = Upscaler(str(path), scale=4, device="cpu", tile=tile)
    assert up.model.min_tile_overlap == 42
    ours = up(img).astype(int)
    reference = _spandrel_forward(path, img).astype(int)
    assert ours.shape == reference.shape == (160, 480, 3)
    assert np.abs(ours - reference).max() <= 1


@needs_spandrel
def test_official_rrdbnet_layout_loads_and_equals_srpipes_rrdbnet(tmp_path):
    import torch

    from srpipe.models.checkpoint import load_checkpoint

    net, path = _tiny_rrdbnet_checkpoint(tmp_path / "esrgan_x4.pth")
    model, meta = load_checkpoint(path, scale=4)
    assert (meta["source"], meta["arch"], meta["scale"]) == ("spandrel", "ESRGAN", 4)
    x = torch.rand(1, 3, 12, 9)
    with torch.no_grad():
        # spandrel's ESRGAN and srpipe's RRDBNet, written apart, agree on the same weights
        assert torch.allclose(model(x), net.eval()(x).clamp(0, 1), atol=1e-5)


@needs_spandrel
def test_wrong_scale_says_what_the_file_holds(tmp_path):
    from srpipe.models.checkpoint import load_checkpoint

    path = _tiny_swinir_checkpoint(tmp_path / "swinir_x2.pth")
    with pytest.raises(SrpipeError, match=r"x2 SwinIR checkpoint, not x4"):
        load_checkpoint(path, scale=4)


@needs_spandrel
def test_models_checkpoint_names_loader_arch_scale_and_size(tmp_path, capsys):
    path = _tiny_swinir_checkpoint(tmp_path / "swinir_x2.pth")
    with pytest.raises(SystemExit) as exit_info:
        main(["models", "--checkpoint", str(path), "--json"])
    assert exit_info.value.code in (0, None)
    info = json.loads(capsys.readouterr().out)
    assert info["loader"].startswith("spandrel ")
    assert (info["arch"], info["scale"]) == ("SwinIR", 2)
    assert info["parameters"] > 1000


def test_models_checkpoint_names_srpipes_own_loader(tmp_path, capsys):
    from srpipe.models.checkpoint import save_checkpoint
    from srpipe.models.networks.espcn import ESPCN

    path = save_checkpoint(
        ESPCN(scale=2), tmp_path / "espcn.safetensors", arch="espcn", scale=2, hyper={}
    )
    with pytest.raises(SystemExit):
        main(["models", "--checkpoint", str(path)])
    out = capsys.readouterr().out
    assert "loader: srpipe\n" in out and "arch: espcn" in out and "scale: 2" in out


def _unknown_checkpoint(path):
    import torch

    torch.save({"encoder.weird.weight": torch.zeros(3, 3)}, path)
    return path


def test_unrecognised_without_the_extra_names_it(tmp_path, monkeypatch):
    from srpipe.models import checkpoint, spandrel_loader

    monkeypatch.setattr(spandrel_loader, "spandrel_available", lambda: False)
    monkeypatch.setattr(checkpoint, "spandrel_available", lambda: False)
    with pytest.raises(SrpipeError, match=r"pip install 'srpipe\[spandrel\]'") as error:
        checkpoint.load_checkpoint(_unknown_checkpoint(tmp_path / "odd.pth"))
    assert "\n" not in str(error.value)


@needs_spandrel
def test_unrecognised_with_the_extra_says_spandrel_was_tried(tmp_path):
    from srpipe.models.checkpoint import load_checkpoint

    with pytest.raises(SrpipeError, match="spandrel's architectures") as error:
        load_checkpoint(_unknown_checkpoint(tmp_path / "odd.pth"))
    assert "pip install" not in str(error.value)


def test_cli_error_is_one_line_without_traceback(tmp_path, capsys):
    from PIL import Image

    src = tmp_path / "in.png"
    Image.fromarray(_image(8, 8)).save(src)
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "upscale",
                str(src),
                str(tmp_path / "out.png"),
                "--sr",
                str(_unknown_checkpoint(tmp_path / "odd.pth")),
                "--scale",
                "2",
            ]
        )
    assert exit_info.value.code not in (0, None)
    err = capsys.readouterr().err
    assert "unrecognised checkpoint layout" in err and "Traceback" not in err
