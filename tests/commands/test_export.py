"""`srpipe export --format onnx`: dynamic H/W, metadata, onnxruntime agreement, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from srpipe.cli import main


def run_cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    from srpipe.models.checkpoint import save_checkpoint
    from srpipe.models.networks.edsr import EDSR as build_edsr

    torch.manual_seed(0)
    hyper = {"n_resblocks": 1, "n_feats": 8}
    model = build_edsr(scale=2, **hyper).eval()
    path = save_checkpoint(model, tmp_path / "tiny.safetensors", arch="edsr", scale=2, hyper=hyper)
    return path, model


def test_export_onnx_dynamic_and_checked(tmp_path, capsys, tiny):
    ckpt, model = tiny
    target = tmp_path / "m.onnx"
    code, out, err = run_cli(
        capsys, "export", "--sr", ckpt, "--scale", "2", "--format", "onnx", "-o", target, "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["check"]["max_abs_diff"] <= 1e-3
    graph = onnx.load(str(target))
    meta = {p.key: p.value for p in graph.metadata_props}
    assert meta["scale"] == "2" and meta["arch"] == "edsr" and len(meta["weights_sha256"]) == 64
    # a size the export never saw: dynamic height and width really work
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    x = torch.rand(1, 3, 17, 29)
    got = session.run(["sr"], {"lr": x.numpy()})[0]
    with torch.no_grad():
        expected = model(x).numpy()
    assert got.shape == (1, 3, 34, 58)
    np.testing.assert_allclose(got, expected, atol=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "tiny.safetensors"]


def test_export_default_name_and_text_summary(tmp_path, capsys, tiny, monkeypatch):
    ckpt, _ = tiny
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "export", "--sr", ckpt, "--scale", "2")
    assert code == 0 and "onnxruntime max |diff|" in out
    assert (tmp_path / "edsr_x2.onnx").is_file()


def test_export_wrong_scale_and_suffix(tmp_path, capsys, tiny):
    ckpt, _ = tiny
    code, _, err = run_cli(
        capsys, "export", "--sr", ckpt, "--scale", "3", "-o", tmp_path / "a.onnx"
    )
    assert code == 1 and err.startswith("Error:") and "x2" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "export", "--sr", ckpt, "--scale", "2", "-o", tmp_path / "a.pt")
    assert code == 2 and ".onnx" in err
    assert not (tmp_path / "a.onnx").exists()


def test_export_unknown_format_is_usage_error(capsys, tiny):
    ckpt, _ = tiny
    code, _, err = run_cli(capsys, "export", "--sr", ckpt, "--format", "tflite")
    assert code == 2 and "tflite" in err


@pytest.fixture
def luma_checkpoint(tmp_path: Path) -> Path:
    """SRCNN upsamples with MATLAB bicubic inside forward: its graph depends on the size."""
    from srpipe.models.checkpoint import save_checkpoint
    from srpipe.plugins import get_plugin_manager

    torch.manual_seed(0)
    model = get_plugin_manager().model("srcnn").build(scale=2)
    return save_checkpoint(model, tmp_path / "srcnn.safetensors", arch="srcnn", scale=2, hyper={})


def test_size_dependent_model_needs_static_size(tmp_path, capsys, luma_checkpoint):
    target = tmp_path / "s.onnx"
    code, _, err = run_cli(capsys, "export", "--sr", luma_checkpoint, "--scale", "2", "-o", target)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "--static-size" in lines[0]
    assert not target.exists()  # a graph that fails the check is never left behind
    code, out, err = run_cli(
        capsys,
        "export",
        "--sr",
        luma_checkpoint,
        "--scale",
        "2",
        "-o",
        target,
        "--static-size",
        "24x20",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["check"]["sizes"] == ["1x3x24x20", "2x3x24x20"]
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    assert session.run(["sr"], {"lr": np.random.rand(1, 3, 24, 20).astype(np.float32)})[
        0
    ].shape == (
        1,
        3,
        48,
        40,
    )


def test_bad_static_size(capsys, tiny):
    ckpt, _ = tiny
    code, _, err = run_cli(capsys, "export", "--sr", ckpt, "--scale", "2", "--static-size", "big")
    assert code == 2 and "HxW" in err


def test_a_model_that_outputs_nan_fails_the_check_instead_of_passing_it(tmp_path, tiny):
    """NaN - NaN compares as nothing: the check once reported max |diff| 0.00 for it."""
    from srpipe.commands.export import check_onnx, export_onnx
    from srpipe.errors import SrpipeError

    _, model = tiny
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    target = tmp_path / "nan.onnx"
    export_onnx(model, target, scale=2, meta={"name": "nan"})
    with pytest.raises(SrpipeError, match="NaN/Inf"):
        check_onnx(model, target, scale=2)
    assert not target.exists()


def test_an_opset_the_exporter_cannot_write_is_a_usage_error(tmp_path, capsys, tiny):
    ckpt, _ = tiny
    code, _, err = run_cli(
        capsys, "export", "--sr", ckpt, "--scale", "2", "--opset", "1", "-o", tmp_path / "m.onnx"
    )
    assert code == 2 and "--opset" in err and "Traceback" not in err
    assert not (tmp_path / "m.onnx").exists()
