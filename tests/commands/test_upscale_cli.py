"""`srpipe upscale`: images and folders, alpha/16-bit/grey/EXIF, and every kind of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from srpipe.cli import main
from srpipe.image.io import load_image


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error:") and "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (12, 15, 3), dtype=np.uint8)


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    from srpipe.models.checkpoint import save_checkpoint
    from srpipe.models.networks.edsr import EDSR as build_edsr

    torch.manual_seed(0)
    hyper = {"n_resblocks": 1, "n_feats": 8}
    return save_checkpoint(
        build_edsr(scale=2, **hyper),
        tmp_path / "tiny_x2.safetensors",
        arch="edsr",
        scale=2,
        hyper=hyper,
    )


def test_single_image_bicubic(tmp_path, capsys, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    code, out, _ = run_cli(
        capsys, "upscale", tmp_path / "a.png", tmp_path / "b.png", "--scale", "2"
    )
    assert code == 0 and "upscaled 1 image x2 with bicubic" in out
    assert load_image(tmp_path / "b.png").rgb.shape == (24, 30, 3)


def test_single_image_into_folder(tmp_path, capsys, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.jpg")
    code, _, _ = run_cli(capsys, "upscale", tmp_path / "a.jpg", tmp_path / "outdir", "--scale", "3")
    assert code == 0 and (tmp_path / "outdir" / "a.jpg").is_file()


def test_model_checkpoint_tiled_json(tmp_path, capsys, rgb, tiny_checkpoint):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    code, out, _ = run_cli(
        capsys,
        "upscale",
        tmp_path / "a.png",
        tmp_path / "b.png",
        "--sr",
        tiny_checkpoint,
        "--scale",
        "2",
        "--tile",
        "8",
        "--tile-overlap",
        "4",
        "--device",
        "cpu",
        "--json",
    )
    assert code == 0
    report = json.loads(out)
    assert report["upscaler"]["weights_sha256"] and report["upscaler"]["tile"] == 8
    assert report["outputs"][0]["size_out"] == [30, 24] and report["failed"] == []


def test_alpha_16bit_grey_and_exif_are_kept(tmp_path, capsys, rgb):
    src = tmp_path / "in"
    src.mkdir()
    alpha = np.full(rgb.shape[:2], 128, np.uint8)
    Image.fromarray(np.dstack([rgb, alpha])).save(src / "rgba.png")
    cv2.imwrite(str(src / "deep.png"), (rgb.astype(np.uint16) * 257)[:, :, ::-1])
    Image.fromarray(rgb[:, :, 0]).save(src / "grey.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    Image.fromarray(rgb).save(src / "rotated.jpg", exif=exif)
    code, _, _ = run_cli(capsys, "upscale", src, tmp_path / "out", "--scale", "2")
    assert code == 0
    out = tmp_path / "out"
    rgba = load_image(out / "rgba.png")
    assert rgba.alpha is not None and (rgba.alpha == 128).all()
    deep = load_image(out / "deep.png")
    assert deep.bit_depth == 16 and deep.rgb.shape == (24, 30, 3)
    with Image.open(out / "grey.png") as im:
        assert im.mode == "L"
    assert load_image(out / "rotated.jpg").rgb.shape == (30, 24, 3)


def _bad_files(folder: Path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb).save(folder / "good1.png")
    Image.fromarray(rgb).save(folder / "good2.jpg")
    (folder / "text.png").write_text("this is not an image")
    (folder / "empty.jpg").write_bytes(b"")
    data = (folder / "good1.png").read_bytes()
    (folder / "cut.png").write_bytes(data[: len(data) // 2])
    (folder / "notes.txt").write_text("ignored: not an image extension")


def test_folder_goes_on_past_bad_files(tmp_path, capsys, rgb):
    src = tmp_path / "in"
    src.mkdir()
    _bad_files(src, rgb)
    code, out, err = run_cli(capsys, "upscale", src, tmp_path / "out", "--scale", "2")
    assert code == 1
    assert "upscaled 2 images" in out
    assert "3 file(s) failed" in err and "Traceback" not in err
    for name in ("text.png", "empty.jpg", "cut.png"):
        assert name in err
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["good1.png", "good2.jpg"]  # no half-written or temporary files


def test_folder_json_lists_failures(tmp_path, capsys, rgb):
    src = tmp_path / "in"
    src.mkdir()
    _bad_files(src, rgb)
    code, out, _ = run_cli(capsys, "upscale", src, tmp_path / "o", "--scale", "2", "--json")
    report = json.loads(out)
    assert code == 1 and len(report["outputs"]) == 2
    assert sorted(Path(f["input"]).name for f in report["failed"]) == [
        "cut.png",
        "empty.jpg",
        "text.png",
    ]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("text.png", b"plain text, not pixels", "not an image"),
        ("empty.png", b"", "empty file"),
        ("missing.png", None, "no such file"),
    ],
)
def test_single_bad_file_is_one_line(tmp_path, capsys, name, content, needle):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, _, err = run_cli(capsys, "upscale", path, tmp_path / "o.png", "--scale", "2")
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "o.png").exists()


def test_truncated_file_is_one_line(tmp_path, capsys, rgb):
    Image.fromarray(np.tile(rgb, (8, 8, 1))).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    code, _, err = run_cli(capsys, "upscale", tmp_path / "cut.jpg", tmp_path / "o.png")
    assert_one_line_error(code, err, "truncated")


def test_scale_the_model_lacks(tmp_path, capsys, rgb, tiny_checkpoint):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    code, _, err = run_cli(
        capsys,
        "upscale",
        tmp_path / "a.png",
        tmp_path / "o.png",
        "--sr",
        tiny_checkpoint,
        "--scale",
        "4",
    )
    assert_one_line_error(code, err, "x2", "--scale 2")
    code, _, err = run_cli(
        capsys, "upscale", tmp_path / "a.png", tmp_path / "o.png", "--sr", "edsr", "--scale", "5"
    )
    assert_one_line_error(code, err, "not x5")


class _RunsCode:
    """Unpickling this calls os.system: exactly what a malicious .pt file does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_would_run_code_is_refused(tmp_path, capsys, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"params": _RunsCode(marker)}, evil)
    code, _, err = run_cli(
        capsys, "upscale", tmp_path / "a.png", tmp_path / "o.png", "--sr", evil, "--scale", "2"
    )
    assert_one_line_error(code, err, "evil.pt")
    assert not marker.exists()


def test_weights_of_another_architecture(tmp_path, capsys, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3), torch.nn.Linear(4, 2))
    torch.save(other.state_dict(), tmp_path / "other.pth")
    code, _, err = run_cli(
        capsys,
        "upscale",
        tmp_path / "a.png",
        tmp_path / "o.png",
        "--sr",
        tmp_path / "other.pth",
        "--scale",
        "2",
    )
    assert_one_line_error(code, err, "other.pth")


def test_refuses_to_overwrite_input(tmp_path, capsys, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    code, _, err = run_cli(capsys, "upscale", tmp_path / "a.png", tmp_path / "a.png")
    assert code == 2 and "overwrite the input" in err


def test_fp16_on_cpu_is_a_clear_error(tmp_path, capsys, rgb, tiny_checkpoint):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    code, _, err = run_cli(
        capsys,
        "upscale",
        tmp_path / "a.png",
        tmp_path / "o.png",
        "--sr",
        tiny_checkpoint,
        "--scale",
        "2",
        "--device",
        "cpu",
        "--precision",
        "fp16",
    )
    assert_one_line_error(code, err, "fp16")


def test_fractional_scale_with_liif(tmp_path, capsys, rgb):
    from srpipe.plugins import get_plugin_manager

    if not get_plugin_manager().model("liif").weights:
        pytest.skip("srpipe/weights/liif.safetensors is absent")
    Image.fromarray(rgb).save(tmp_path / "a.png")
    code, out, _ = run_cli(
        capsys, "upscale", tmp_path / "a.png", tmp_path / "b.png", "--sr", "liif", "--scale", "3.5"
    )
    assert code == 0 and "x3.5 with liif" in out
    assert load_image(tmp_path / "b.png").rgb.shape == (42, 53, 3)  # ceil(12*3.5), ceil(15*3.5)


def test_fractional_scale_a_model_cannot_do(tmp_path, capsys, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    code, _, err = run_cli(
        capsys,
        "upscale",
        tmp_path / "a.png",
        tmp_path / "b.png",
        "--sr",
        "dat_light",
        "--scale",
        "2.5",
    )
    assert_one_line_error(code, err, "dat-light supports scales x2, x3, x4, not x2.5")
