"""Decompression bombs: refused from the declared size, before any pixel is decoded.

Each bomb is a crafted header (a few hundred bytes), not a big file: the point is that
srpipe never gets as far as allocating the pixels the header promises.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from srpipe.image.io import write_image

from .conftest import assert_one_line_error

#: 16000 x 16000 = 256 MP, over the default 200 MP limit (and what FFmpeg still accepts)
SIDE = 16000


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(path: Path, bit_depth: int, side: int = 30000) -> Path:
    header = struct.pack(">IIBBBBB", side, side, bit_depth, 2, 0, 0, 0)
    # a valid compressed stream of the first rows: deflate makes real bombs of this size tiny
    rows = zlib.compress(b"\0" * 20000, 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )
    return path


def jpeg_bomb(path: Path) -> Path:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")  # baseline start-of-frame: length, precision, height, width
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    path.write_bytes(bytes(data))
    return path


def tiff_bomb(path: Path) -> Path:
    entries = [
        (256, 4, 1, SIDE * 2),  # ImageWidth
        (257, 4, 1, SIDE * 2),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: black is zero
        (273, 4, 1, 8),  # StripOffsets
        (278, 4, 1, SIDE * 2),  # RowsPerStrip
        (279, 4, 1, 16),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += struct.pack("<I", 0)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 24) + b"\0" * 16 + ifd)
    return path


def webp_bomb(path: Path) -> Path:
    side = (SIDE - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + side + side
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


BOMBS = {
    "png8.png": lambda p: png_bomb(p, 8),
    "png16.png": lambda p: png_bomb(p, 16),
    "photo.jpg": jpeg_bomb,
    "scan.tif": tiff_bomb,
    "web.webp": webp_bomb,
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_image_bomb_refused_before_decoding(tmp_path, srpipe_cli, name):
    bomb = BOMBS[name](tmp_path / name)
    assert bomb.stat().st_size < 10_000
    outcome = srpipe_cli("upscale", bomb, tmp_path / "out.png", "--sr", "bicubic")
    assert_one_line_error(outcome, name, "decode limit", "SRPIPE_MAX_PIXELS")
    assert not (tmp_path / "out.png").exists()


def test_bomb_in_a_folder_is_listed_and_the_rest_written(tmp_path, srpipe_cli):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "c.png"):
        write_image(folder / name, np.full((12, 10, 3), 77, np.uint8))
    png_bomb(folder / "b.png", 16)
    outcome = srpipe_cli("upscale", folder, tmp_path / "out", "--sr", "bicubic", "--scale", 2)
    assert outcome.code == 1 and "Traceback" not in outcome.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    assert "b.png" in outcome.err and "decode limit" in outcome.err


def test_limit_can_be_raised(tmp_path, srpipe_cli, monkeypatch):
    """With the limit raised the header passes and the (crafted, truncated) data fails."""
    monkeypatch.setenv("SRPIPE_MAX_PIXELS", str(10**9))
    bomb = png_bomb(tmp_path / "b.png", 8, side=20000)
    outcome = srpipe_cli("upscale", bomb, tmp_path / "out.png", "--sr", "bicubic")
    assert outcome.code == 1 and "decode limit" not in outcome.err


def test_video_frame_size_bomb(tmp_path, srpipe_cli):
    pytest.importorskip("av")
    clip = tmp_path / "bomb.y4m"
    clip.write_bytes(
        f"YUV4MPEG2 W{SIDE} H{SIDE} F25:1 Ip A1:1 C420jpeg\nFRAME\n".encode() + b"\0" * 4096
    )
    out = tmp_path / "v.mp4"
    outcome = srpipe_cli("run", "video", clip, "-o", out, "--sr", "bicubic")
    assert_one_line_error(outcome, "bomb.y4m", "decode limit")
    assert not list(tmp_path.glob("v*"))


def test_image_sequence_bomb(tmp_path, srpipe_cli):
    frames = tmp_path / "frames"
    frames.mkdir()
    png_bomb(frames / "0001.png", 8)
    outcome = srpipe_cli("run", "video", frames, "-o", tmp_path / "v.mp4", "--sr", "bicubic")
    assert_one_line_error(outcome, "0001.png", "decode limit")
