"""Resource limits every input goes through: the decode pixel limit and the memory budget.

A 5 MB PNG can declare 30000x30000 16-bit pixels (5.4 GB decoded). Every decoder path
(Pillow, OpenCV, video frames) asks :func:`check_pixel_count` with the size the header
*declares*, before any pixel is decoded, so a decompression bomb costs a header read.

The memory budget (:func:`memory_budget`) is what tiling and batching plan against: a share
of the memory available now, unless ``SRPIPE_MEMORY`` (or ``--memory``) sets it.
"""

from __future__ import annotations

import os
import re

from srpipe.errors import SrpipeError, UsageError

#: the default decode limit: 200 megapixels (a 16k x 12k photo), Pillow's own error level
DEFAULT_MAX_PIXELS = 200_000_000
#: share of the available RAM (or free VRAM) an SR run plans to use by default
DEFAULT_MEMORY_SHARE = 0.5
#: the default budget never exceeds this (bytes): beyond ~1 GB of activations bigger tiles
#: buy almost no speed, and a default run's peak memory stays predictable on big hosts
MAX_DEFAULT_BUDGET = 1536 * 1024**2


def max_pixels() -> int:
    """The decode limit in pixels: ``$SRPIPE_MAX_PIXELS`` or :data:`DEFAULT_MAX_PIXELS`."""
    text = os.environ.get("SRPIPE_MAX_PIXELS", "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        raise SrpipeError(
            f"SRPIPE_MAX_PIXELS={text!r} is not a number; give pixels, e.g. 400000000"
        ) from None
    if value <= 0:
        raise SrpipeError(f"SRPIPE_MAX_PIXELS must be positive, got {value}")
    return value


def check_pixel_count(name: str, width: int, height: int) -> None:
    """Refuse a ``width`` x ``height`` image or frame over the decode limit (one line)."""
    limit = max_pixels()
    if int(width) * int(height) > limit:
        raise SrpipeError(
            f"{name}: declares {width}x{height} pixels ({width * height / 1e6:.0f} MP), over "
            f"the {limit / 1e6:.0f} MP decode limit (a decompression bomb?); if the image is "
            "genuine, raise the limit with SRPIPE_MAX_PIXELS=<pixels>"
        )


def check_output_pixels(name: str, width: int, height: int, scale: float) -> None:
    """Refuse an upscale whose *output* would exceed the decode limit, before any work: a
    32x24 image at x1000 asks for 768 MP, which no later step could hold or write."""
    out_w, out_h = round(int(width) * scale), round(int(height) * scale)
    limit = max_pixels()
    if out_w * out_h > limit:
        raise SrpipeError(
            f"{name}: x{scale:g} would make {out_w}x{out_h} pixels ({out_w * out_h / 1e6:.0f} "
            f"MP), over the {limit / 1e6:.0f} MP limit; use a smaller --scale, or raise the "
            "limit with SRPIPE_MAX_PIXELS=<pixels>"
        )


def parse_bytes(text: str, what: str = "--memory") -> int:
    """``"2G"``, ``"512M"``, ``"1.5GB"`` or a plain byte count -> bytes (one-line errors)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)i?b?\s*", str(text).lower())
    if not match:
        raise UsageError(f"{what}: cannot read {text!r} as a size; write e.g. 2G or 512M")
    number, unit = float(match.group(1)), match.group(2)
    value = int(number * 1024 ** " kmgt".index(unit or " "))
    if value <= 0:
        raise UsageError(f"{what} must be positive, got {text!r}")
    return value


def available_ram() -> int:
    """Bytes of RAM available to a new allocation now (psutil; 4 GiB if unknown)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # psutil missing or unreadable /proc: plan conservatively
        return 4 * 1024**3


def memory_budget(device: str = "cpu", setting: str | int | None = None) -> int:
    """Bytes an SR run may plan for on ``device``.

    ``setting`` (``--memory``) or ``$SRPIPE_MEMORY`` wins; otherwise
    :data:`DEFAULT_MEMORY_SHARE` of the free memory of the device (RAM for CPU, free VRAM
    for CUDA), capped at :data:`MAX_DEFAULT_BUDGET` so a default run's peak is predictable.
    """
    chosen = setting if setting not in (None, "", 0) else os.environ.get("SRPIPE_MEMORY")
    if chosen not in (None, ""):
        return chosen if isinstance(chosen, int) else parse_bytes(str(chosen))
    free = available_ram()
    if str(device).startswith("cuda"):
        import torch

        index = int(str(device).split(":")[1]) if ":" in str(device) else None
        free, _ = torch.cuda.mem_get_info(index)
    return int(min(DEFAULT_MEMORY_SHARE * free, MAX_DEFAULT_BUDGET))
