"""Reading and writing images the way the SR pipeline needs them.

* :func:`read_image` gives what every model and task consumes: RGB uint8 (H, W, 3), the
  EXIF orientation applied (a phone photo is upright), grey replicated to three channels,
  alpha dropped and 16-bit rounded down to 8-bit.
* :func:`load_image` keeps what ``srpipe upscale`` must preserve: the alpha channel and the
  16-bit depth, in an :class:`Picture`.
* :func:`write_image` writes atomically (a temporary file in the same folder, then a rename),
  so a crash never leaves a half-written output.

Every unreadable input (missing, empty, not an image, truncated, unsupported pixel type)
raises :class:`~srpipe.errors.SrpipeError` with one line that names the file.
Pillow decodes 8-bit images because it detects truncated files, which OpenCV silently
decodes half-grey; OpenCV decodes 16-bit colour PNGs, which Pillow reduces to 8 bits.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srpipe.atomic import atomic_path
from srpipe.errors import SrpipeError
from srpipe.image.limits import check_pixel_count, max_pixels

#: file extensions srpipe reads and writes as still images (lower case, with the dot)
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_EXIF_ORIENTATION = 0x0112


@dataclass
class Picture:
    """An image with what a plain RGB array loses: alpha and bit depth.

    ``rgb`` is (H, W, 3) uint8 or uint16 (``bit_depth`` 8 or 16); ``alpha`` is (H, W) of
    the same dtype or None; ``grey`` says the source had a single colour channel.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    grey: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]

    def to_uint8(self) -> np.ndarray:
        """The RGB pixels as uint8 (16-bit values rounded to the nearest 8-bit level)."""
        return to_uint8(self.rgb)


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when the file name has an image extension (the file need not exist)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """uint8 unchanged; uint16 rounded to 8 bits (65535 -> 255)."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return np.floor(pixels.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)
    raise SrpipeError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read ``path`` as RGB uint8 (H, W, 3), upright per its EXIF orientation."""
    return load_image(path).to_uint8()


def load_image(path: str | os.PathLike[str]) -> Picture:
    """Read ``path`` keeping alpha and 16-bit depth; see :class:`Picture`."""
    path = Path(path)
    if not path.exists():
        raise SrpipeError(f"{path}: no such file")
    if path.is_dir():
        raise SrpipeError(f"{path}: is a folder, not an image")
    data = path.read_bytes()
    if not data:
        raise SrpipeError(f"{path}: empty file (0 bytes); re-export or remove it")
    check_image_header(path, data)
    _align_pillow_limit()
    pixels = _decode_cv2(path, data) if _is_16bit_colour_png(data) else _decode_pil(path, data)
    pixels = _apply_orientation(pixels, _exif_orientation(data))
    return _to_picture(path, pixels)


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an image's header, without decoding pixels; None if unknown."""

    from PIL import Image

    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8X" and len(data) >= 30:
        # extended WebP: 24-bit canvas width-1 and height-1 (libwebp decodes the whole canvas)
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning/error is replaced by srpipe's limit (one line)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                with Image.open(io.BytesIO(data)) as im:  # parses the header only
                    return int(im.size[0]), int(im.size[1])
            finally:
                Image.MAX_IMAGE_PIXELS = limit
    except Exception:  # not an image Pillow knows: the decoder reports it
        return None


def header_size(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(width, height) of the image at ``path`` as :func:`read_image` returns it, from its
    header alone (EXIF rotation applied); None when the header does not say."""

    try:
        with open(path, "rb") as handle:
            data = handle.read(65536)
    except OSError:
        return None
    size = declared_size(data)
    if size is None and Path(path).suffix.lower() in (".tif", ".tiff"):
        data = Path(path).read_bytes()
        size = declared_size(data)
    if size is not None and _exif_orientation(data) in (5, 6, 7, 8):
        size = (size[1], size[0])  # rotated a quarter turn when decoded
    return size


def check_image_header(path: str | os.PathLike[str], data: bytes | None = None) -> None:
    """Refuse an image whose header declares more pixels than the decode limit.

    Reads at most the first 64 KiB when ``data`` is not given (headers sit at the start;
    a TIFF whose directory lies further on is measured by Pillow's lazy open instead).
    """

    if data is None:
        with open(path, "rb") as handle:
            data = handle.read(65536)
        size = declared_size(data)
        if size is None and Path(path).suffix.lower() in (".tif", ".tiff"):
            data = Path(path).read_bytes()
            size = declared_size(data)
    else:
        size = declared_size(data)
    if size is not None:
        check_pixel_count(str(path), *size)


def _align_pillow_limit() -> None:
    from PIL import Image

    # srpipe's limit was checked from the header; Pillow's lower default would only add a
    # DecompressionBombWarning (raw library text) for images srpipe has accepted
    Image.MAX_IMAGE_PIXELS = max_pixels()


def _is_16bit_colour_png(data: bytes) -> bool:
    # IHDR sits right after the 8-byte signature: length, "IHDR", width, height, depth, type
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 26 or data[12:16] != b"IHDR":
        return False
    bit_depth, colour_type = data[24], data[25]
    return bit_depth == 16 and colour_type in (2, 4, 6)


def _decode_cv2(path: Path, data: bytes) -> np.ndarray:
    import cv2

    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise SrpipeError(f"{path}: truncated or corrupt PNG; re-export it")
    if pixels.ndim == 3:  # OpenCV orders colour channels BGR(A)
        order = [2, 1, 0, 3][: pixels.shape[2]]
        pixels = pixels[:, :, order]
    return pixels


def _decode_pil(path: Path, data: bytes) -> np.ndarray:

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            # a TIFF stack, an animated GIF/WebP/PNG: reading page 1 alone would silently
            # measure a fraction of what the user gave
            pages = int(getattr(im, "n_frames", 1) or 1)
            if pages > 1:
                raise SrpipeError(
                    f"{path}: holds {pages} pages/frames, srpipe reads one image per file; "
                    "split it into single images (a video: convert it to .mp4 for `run video`)"
                )
            # the size was checked against srpipe's limit (check_image_header) before
            im.load()  # decode now: truncation shows up here, not later
            return _pil_to_array(path, im)
    except (UnidentifiedImageError, ImportError):
        # ImportError: once ultralytics is imported it patches Image.open to fall back on
        # the optional pi-heif package for unknown files, which fails offline without it
        raise SrpipeError(f"{path}: not an image file srpipe can read") from None
    except Image.DecompressionBombError as exc:
        raise SrpipeError(f"{path}: image too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise SrpipeError(f"{path}: truncated or corrupt image ({exc}); re-export it") from None


def _pil_to_array(path: Path, im) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im).astype(np.uint16)
    if mode == "I":  # 32-bit integer grey; PNG 16-bit grey opens this way in some Pillows
        return np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
    if mode == "F":
        raise SrpipeError(f"{path}: floating-point images are not supported; convert to 8/16 bit")
    if mode in ("L", "RGB", "RGBA", "LA"):
        return np.asarray(im)
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        return np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
    if mode == "1":
        return np.asarray(im.convert("L"))
    return np.asarray(im.convert("RGB"))  # CMYK, YCbCr, LAB, HSV


def _exif_orientation(data: bytes) -> int:

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # no or broken EXIF: the pixels are taken as stored
        return 1


def _apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright (EXIF orientations 2-8, as Pillow's ``exif_transpose``)."""
    if orientation == 2:
        pixels = pixels[:, ::-1]
    elif orientation == 3:
        pixels = pixels[::-1, ::-1]
    elif orientation == 4:
        pixels = pixels[::-1]
    elif orientation == 5:
        pixels = np.swapaxes(pixels, 0, 1)
    elif orientation == 6:
        pixels = np.rot90(pixels, -1)
    elif orientation == 7:
        pixels = np.swapaxes(pixels[::-1, ::-1], 0, 1)
    elif orientation == 8:
        pixels = np.rot90(pixels, 1)
    return np.ascontiguousarray(pixels)


def _to_picture(path: Path, pixels: np.ndarray) -> Picture:
    if pixels.dtype == np.uint8:
        depth = 8
    elif pixels.dtype == np.uint16:
        depth = 16
    else:
        raise SrpipeError(f"{path}: unsupported pixel type {pixels.dtype}")
    if pixels.size == 0:
        raise SrpipeError(f"{path}: image has no pixels")
    alpha = None
    grey = False
    if pixels.ndim == 2:
        grey = True
        rgb = np.repeat(pixels[:, :, None], 3, axis=2)
    elif pixels.shape[2] == 2:  # grey + alpha
        grey = True
        rgb = np.repeat(pixels[:, :, :1], 3, axis=2)
        alpha = np.ascontiguousarray(pixels[:, :, 1])
    elif pixels.shape[2] == 4:
        rgb = np.ascontiguousarray(pixels[:, :, :3])
        alpha = np.ascontiguousarray(pixels[:, :, 3])
    elif pixels.shape[2] == 3:
        rgb = pixels
    else:
        raise SrpipeError(f"{path}: unsupported channel count {pixels.shape[2]}")
    return Picture(rgb=rgb, alpha=alpha, bit_depth=depth, grey=grey)


def write_image(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    quality: int = 95,
) -> Path:
    """Write RGB (H, W, 3) uint8 or uint16 [+ alpha (H, W)] to ``path`` atomically.

    The format follows the extension. 16-bit is kept for PNG and TIFF and reduced to
    8-bit elsewhere; alpha is kept for PNG, TIFF and WebP and dropped elsewhere (JPEG and
    BMP cannot store it). A grey (H, W) array is written as grey.
    """
    import cv2

    target = Path(path)
    ext = target.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise SrpipeError(
            f"{target}: unknown image extension {ext!r}; use one of {', '.join(IMAGE_EXTENSIONS)}"
        )
    pixels = np.asarray(rgb)
    if pixels.dtype not in (np.uint8, np.uint16):
        raise SrpipeError(f"write_image expects uint8 or uint16 pixels, got {pixels.dtype}")
    if ext not in (".png", ".tif", ".tiff"):
        pixels = to_uint8(pixels)
        if alpha is not None:
            alpha = to_uint8(np.asarray(alpha))
    if pixels.ndim == 3:
        pixels = pixels[:, :, ::-1]  # OpenCV writes BGR
        if alpha is not None and ext in (".png", ".tif", ".tiff", ".webp"):
            alpha = np.asarray(alpha).astype(pixels.dtype)
            pixels = np.concatenate([pixels, alpha[:, :, None]], axis=2)
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    ok, buffer = cv2.imencode(ext, np.ascontiguousarray(pixels), params)
    if not ok:
        raise SrpipeError(f"{target}: could not encode the image as {ext}")
    with atomic_path(target) as tmp:
        tmp.write_bytes(buffer.tobytes())
    return target
