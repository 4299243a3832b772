"""Hostile inputs from issue 27: multi-page files, unbounded outputs, unreadable files in a
folder, multi-line error texts. Each gives one line and a non-zero exit; nothing is cut
silently and the rest of a batch is written."""

from __future__ import annotations

import os

import numpy as np
import pytest

from srpipe.errors import SrpipeError
from srpipe.image.io import write_image
from tests.robustness.conftest import assert_one_line_error


def _tiff_stack(path, pages: int = 5):
    from PIL import Image

    frames = [Image.fromarray(np.full((16, 20), 1000 * (i + 1), np.uint16)) for i in range(pages)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def _animated_gif(path, frames: int = 3):
    from PIL import Image

    images = [Image.fromarray(np.full((12, 12, 3), 40 * i, np.uint8)) for i in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=40, loop=0)
    return path


@pytest.mark.parametrize(("name", "make", "count"), [
    ("stack.tif", _tiff_stack, 5), ("anim.gif", _animated_gif, 3),
])  # fmt: skip
def test_a_multi_page_file_is_refused_not_cut(tmp_path, srpipe_cli, name, make, count):
    source = make(tmp_path / name)
    outcome = srpipe_cli("upscale", source, tmp_path / "out.png", "--sr", "bicubic")
    assert_one_line_error(outcome, name, f"holds {count} pages/frames")
    assert not (tmp_path / "out.png").exists()


def test_a_single_page_tiff_still_reads(tmp_path, srpipe_cli):
    source = _tiff_stack(tmp_path / "one.tif", pages=1)
    outcome = srpipe_cli("upscale", source, tmp_path / "out.png", "--sr", "bicubic", "--scale", 2)
    assert outcome.code == 0, outcome.err
    assert (tmp_path / "out.png").is_file()


def test_an_output_over_the_pixel_limit_is_refused_before_any_work(
    tmp_path, srpipe_cli, monkeypatch
):
    monkeypatch.setenv("SRPIPE_MAX_PIXELS", str(100_000))
    write_image(tmp_path / "small.png", np.full((24, 32, 3), 9, np.uint8))
    outcome = srpipe_cli(
        "upscale", tmp_path / "small.png", tmp_path / "big.png", "--sr", "bicubic", "--scale", 100
    )
    assert_one_line_error(outcome, "small.png", "x100 would make 3200x2400", "SRPIPE_MAX_PIXELS")
    assert not (tmp_path / "big.png").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_in_a_folder_is_listed_and_the_rest_written(tmp_path, srpipe_cli):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        write_image(folder / name, np.full((12, 10, 3), 77, np.uint8))
    (folder / "b.png").chmod(0)
    try:
        outcome = srpipe_cli("upscale", folder, tmp_path / "out", "--sr", "bicubic", "--scale", 2)
    finally:
        (folder / "b.png").chmod(0o644)
    assert outcome.code == 1 and "Traceback" not in outcome.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    assert "b.png" in outcome.err


def test_a_file_that_vanishes_mid_batch_is_listed_and_the_rest_written(
    tmp_path, srpipe_cli, monkeypatch
):
    """The folder is listed, then a file disappears before it is read (another process)."""
    from srpipe.commands import upscale as command

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        write_image(folder / name, np.full((12, 10, 3), 77, np.uint8))
    real_load = command.load_image

    def load_after_b_vanished(path):
        if path.name == "b.png":
            path.unlink(missing_ok=True)
            return real_load(path)  # an OSError from the file system, not a SrpipeError
        return real_load(path)

    monkeypatch.setattr(command, "load_image", load_after_b_vanished)
    outcome = srpipe_cli("upscale", folder, tmp_path / "out", "--sr", "bicubic", "--scale", 2)
    assert outcome.code == 1 and "Traceback" not in outcome.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    assert "b.png" in outcome.err


def test_an_error_text_with_newlines_prints_one_line(tmp_path, srpipe_cli, monkeypatch):
    from srpipe.commands import upscale as command

    def broken(path):
        raise SrpipeError(f"{path}: first line\nsecond line\n\tthird")

    monkeypatch.setattr(command, "load_image", broken)
    write_image(tmp_path / "a.png", np.full((12, 10, 3), 77, np.uint8))
    outcome = srpipe_cli("upscale", tmp_path / "a.png", tmp_path / "out.png", "--sr", "bicubic")
    assert_one_line_error(outcome, "first line second line third")
    assert len(outcome.err.strip().splitlines()) == 1, outcome.err


def _tiny_video(path):
    from srpipe_video.writer import FrameWriter

    with FrameWriter(path, 10.0, (32, 24)) as writer:
        for i in range(3):
            writer.write(np.full((24, 32, 3), 30 * i, np.uint8))
    return path


@pytest.mark.parametrize("spelling", ["same", "absolute", "symlink", "hardlink"])
def test_run_never_writes_its_output_over_its_input(tmp_path, srpipe_cli, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    video = _tiny_video(tmp_path / "x.mp4")
    before = video.read_bytes()
    out = {
        "same": "x.mp4",
        "absolute": str(video),
        "symlink": "link.mp4",
        "hardlink": "hard.mp4",
    }[spelling]
    if spelling == "symlink":
        (tmp_path / "link.mp4").symlink_to(video)
    if spelling == "hardlink":
        os.link(video, tmp_path / "hard.mp4")
    outcome = srpipe_cli("run", "video", "x.mp4", "-o", out, "--sr", "bicubic", "--scale", 2)
    assert_one_line_error(outcome, "would replace the input", code=2)
    assert video.read_bytes() == before


def test_run_on_a_folder_gives_clashing_names_their_own_outputs(tmp_path, srpipe_cli):
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "a.png", np.full((12, 10, 3), 50, np.uint8))
    write_image(folder / "a.jpg", np.full((12, 10, 3), 200, np.uint8))
    outcome = srpipe_cli("run", "sr", folder, "-o", tmp_path / "out", "--sr", "bicubic")
    assert outcome.code == 0, outcome.err
    written = sorted(p.name for p in (tmp_path / "out" / "annotated").iterdir())
    assert written == ["a_jpg.png", "a_png.png"]
    assert "would each be annotated/a.png" in outcome.err


def test_run_on_a_folder_writing_into_itself_is_refused(tmp_path, srpipe_cli):
    folder = tmp_path / "annotated"
    folder.mkdir()
    write_image(folder / "a.png", np.full((12, 10, 3), 50, np.uint8))
    before = (folder / "a.png").read_bytes()
    outcome = srpipe_cli("run", "sr", folder, "-o", tmp_path, "--sr", "bicubic")
    assert_one_line_error(outcome, "would replace the input", code=2)
    assert (folder / "a.png").read_bytes() == before


def test_run_on_a_folder_carries_undecodable_file_names_into_its_records(tmp_path, srpipe_cli):
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "a.png", np.full((12, 10, 3), 50, np.uint8))
    odd = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes in a name: not UTF-8
    write_image(folder / odd, np.full((12, 10, 3), 90, np.uint8))
    outcome = srpipe_cli("run", "sr", folder, "-o", tmp_path / "out", "--sr", "bicubic")
    assert outcome.code == 0, outcome.err
    out = tmp_path / "out"
    assert {"records.json", "records.csv", "summary.json"} <= {p.name for p in out.iterdir()}
    assert "caf\\xe9.png" in (out / "records.csv").read_text(encoding="utf-8")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_run_on_a_folder_goes_on_past_an_unreadable_file(tmp_path, srpipe_cli):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        write_image(folder / name, np.full((12, 10, 3), 50, np.uint8))
    (folder / "b.png").chmod(0)
    try:
        outcome = srpipe_cli("run", "sr", folder, "-o", tmp_path / "out", "--sr", "bicubic")
    finally:
        (folder / "b.png").chmod(0o644)
    assert outcome.code != 0 and "b.png" in outcome.err and "Traceback" not in outcome.err
    assert (tmp_path / "out" / "summary.json").is_file()
