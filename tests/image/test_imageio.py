"""Image reading and writing: colour modes, 16-bit, alpha, EXIF orientation, bad files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from srpipe.errors import SrpipeError
from srpipe.image.io import (
    IMAGE_EXTENSIONS,
    is_image_path,
    load_image,
    read_image,
    to_uint8,
    write_image,
)


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 256, (12, 17, 3), dtype=np.uint8)


def test_png_round_trip_is_exact(tmp_path, rgb):
    path = write_image(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(read_image(path), rgb)
    # atomic write leaves no temporary files behind
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_reads_rgb_in_rgb_order(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 0] = 200  # red
    Image.fromarray(img).save(tmp_path / "red.png")
    out = read_image(tmp_path / "red.png")
    assert out[0, 0].tolist() == [200, 0, 0]


def test_grey_becomes_three_channels(tmp_path):
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5)
    Image.fromarray(grey).save(tmp_path / "g.png")
    pic = load_image(tmp_path / "g.png")
    assert pic.grey and pic.rgb.shape == (4, 5, 3)
    np.testing.assert_array_equal(pic.rgb[..., 1], grey)


def test_rgba_keeps_alpha(tmp_path, rgb):
    alpha = np.linspace(0, 255, rgb.shape[0] * rgb.shape[1]).astype(np.uint8).reshape(rgb.shape[:2])
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "a.png")
    pic = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(pic.rgb, rgb)
    np.testing.assert_array_equal(pic.alpha, alpha)
    assert read_image(tmp_path / "a.png").shape == (12, 17, 3)
    write_image(tmp_path / "b.png", pic.rgb, pic.alpha)
    np.testing.assert_array_equal(load_image(tmp_path / "b.png").alpha, alpha)


def test_palette_image(tmp_path, rgb):
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").shape == (12, 17, 3)


def test_16bit_colour_png_keeps_depth(tmp_path):
    rgb16 = np.random.default_rng(1).integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    path = write_image(tmp_path / "d.png", rgb16)
    pic = load_image(path)
    assert pic.bit_depth == 16 and pic.rgb.dtype == np.uint16
    np.testing.assert_array_equal(pic.rgb, rgb16)
    np.testing.assert_array_equal(read_image(path), to_uint8(rgb16))


def test_16bit_grey_png(tmp_path):
    grey16 = (np.arange(30, dtype=np.uint16) * 2000).reshape(5, 6)
    cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    pic = load_image(tmp_path / "g16.png")
    assert pic.bit_depth == 16 and pic.grey
    np.testing.assert_array_equal(pic.rgb[..., 0], grey16)


def test_to_uint8_rounds():
    np.testing.assert_array_equal(
        to_uint8(np.array([0, 128, 257, 65535], np.uint16)), [0, 0, 1, 255]
    )


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    rng = np.random.default_rng(orientation)
    img = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"  # PNG keeps pixels exact, so the comparison is exact
    Image.fromarray(img).save(path, exif=exif)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    np.testing.assert_array_equal(read_image(path), expected)


def test_jpeg_exif_rotation_changes_shape(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed portrait
    Image.fromarray(np.zeros((10, 30, 3), np.uint8)).save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").shape == (30, 10, 3)


def test_missing_empty_not_image_truncated(tmp_path, rgb):
    with pytest.raises(SrpipeError, match="no such file"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(SrpipeError, match="empty file"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "text.jpg").write_text("hello, I am not a picture\n")
    with pytest.raises(SrpipeError, match="not an image"):
        read_image(tmp_path / "text.jpg")
    big = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for ext in (".png", ".jpg"):
        full = write_image(tmp_path / f"full{ext}", big).read_bytes()
        (tmp_path / f"cut{ext}").write_bytes(full[: len(full) // 2])
        with pytest.raises(SrpipeError, match="truncated or corrupt"):
            read_image(tmp_path / f"cut{ext}")
    rgb16 = np.zeros((32, 32, 3), np.uint16)
    full = write_image(tmp_path / "full16.png", rgb16).read_bytes()
    (tmp_path / "cut16.png").write_bytes(full[: len(full) // 2])
    with pytest.raises(SrpipeError, match="truncated or corrupt"):
        read_image(tmp_path / "cut16.png")


def test_error_is_one_line(tmp_path):
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\nrubbish")
    with pytest.raises(SrpipeError) as info:
        read_image(tmp_path / "x.png")
    assert "\n" not in str(info.value) and "x.png" in str(info.value)


def test_write_formats(tmp_path, rgb):
    for ext in IMAGE_EXTENSIONS:
        path = write_image(tmp_path / f"o{ext}", rgb, np.full(rgb.shape[:2], 255, np.uint8))
        assert read_image(path).shape == rgb.shape
    with pytest.raises(SrpipeError, match="unknown image extension"):
        write_image(tmp_path / "o.gifx", rgb)


def test_is_image_path():
    assert is_image_path("a/b/C.JPG") and is_image_path("x.png")
    assert not is_image_path("clip.mp4") and not is_image_path("folder")


def test_not_an_image_after_ultralytics_patched_pil(tmp_path) -> None:
    """ultralytics replaces PIL's Image.open with one that wants pi-heif for unknown files."""
    import pytest
    from srpipe_detect.offline import import_ultralytics

    from srpipe.errors import SrpipeError
    from srpipe.image.io import read_image

    import_ultralytics()
    import ultralytics.utils.patches  # noqa: F401  (installs the patch where this version has it)

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(SrpipeError, match="not an image file"):
        read_image(bad)
