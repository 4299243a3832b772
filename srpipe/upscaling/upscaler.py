"""The Upscaler: one object that upscales images with a classic interpolator or an SR model.

>>> up = Upscaler("edsr", 4, device="auto", precision="bf16", tile=256)
>>> big = up(small_rgb_uint8)            # (H*4, W*4, 3) uint8
>>> bigs = up.upscale_batch([a, b, c])   # same-size images run as one batch

What it takes care of, so callers do not have to:

* **methods**: ``none`` (identity), ``nearest`` / ``bilinear`` / ``bicubic`` (MATLAB
  kernels from :mod:`srpipe.image.resize`), a registered model name or a checkpoint path
  (through :func:`srpipe.models.checkpoint.load_model`), or any ``nn.Module`` via
  :meth:`Upscaler.from_module`;
* **devices**: ``auto`` picks CUDA, then MPS, then CPU;
* **precision**: ``fp32``; ``bf16`` (autocast on CPU and CUDA); ``fp16`` (CUDA only, a
  clear error elsewhere); ``auto``: bf16 where it is native here and the model's bf16 output
  was measured exact enough (:func:`srpipe.models.zoo.bf16_exact`), else fp32. bf16 on a CPU
  that only emulates it runs fp32 and says so in one line
  (:func:`srpipe.upscaling.hardware.choose_precision`); ``precision_reason`` says why.
  The model runs in ``channels_last`` layout under
  ``torch.inference_mode``, which is measurably faster on CPU (see BENCHMARKS.md);
* **tiling**: ``tile > 0`` cuts the input into tiles with ``tile_overlap`` pixels of
  context and blended seams (:mod:`srpipe.upscaling.tiling`); tiles are moved to the device one at
  a time and the output is assembled on the CPU, so memory stays bounded. ``tile=0``
  plans from a **memory budget** (``memory=``, ``$SRPIPE_MEMORY``, else a share of the
  free RAM/VRAM, :func:`srpipe.image.limits.memory_budget`): an image whose activations
  (:meth:`Upscaler.bytes_per_pixel`, measured from the model) fit runs whole, a larger one
  gets the largest tile that fits. An out-of-memory error, on CUDA or CPU, retries the
  image with half the tile size (down to 32);
* **batching** of same-size images (up to ``batch_size``, fewer when the budget says so)
  when not tiling;
* **self-ensemble** (``self_ensemble=True``): the mean of the 8 flips/rotations, each
  transformed back (the "+" models of the papers); models only: the classic interpolators
  are flip-equivariant (symmetric kernels and padding) and change under transposition only
  by the uint8 rounding between MATLAB's two passes, so averaging would gain nothing;
* **output**: clamped to [0, 1] and rounded to uint8 (``__call__``), to uint16
  (:meth:`upscale_picture` keeps 16-bit input 16-bit), or left float
  (:meth:`upscale_float`);
* **single-channel 16-bit** (H, W) uint16 (CT, MR) goes through ``upscale_batch`` too:
  classic methods resize it directly (rounded to uint16); a model sees it windowed to its
  own min..max, replicated to three channels, and the channel mean of its output is mapped
  back to min..max (full contrast at any bit depth; overshoot beyond the range is clipped).

The network's pass itself (layout, autocast, shape check, round half up) is
:mod:`srpipe.upscaling.forward`, which training's validation shares; this module plans
around it: which inputs, which tiles and batches, which retries. It is long because one
Upscaler serves every input kind (uint8 RGB, 16-bit pictures, single-channel uint16)
through the one tiled, budgeted model path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.image.io import Picture
from srpipe.image.limits import check_output_pixels, memory_budget
from srpipe.image.resize import METHODS as CLASSIC_METHODS
from srpipe.image.resize import imresize
from srpipe.models.checkpoint import load_model, looks_like_path
from srpipe.models.zoo import bf16_exact
from srpipe.upscaling.forward import (
    images_to_tensor,
    network_forward,
    quantiser,
    self_ensemble,
    to_pixels,
)
from srpipe.upscaling.hardware import choose_precision
from srpipe.upscaling.tiling import upscale_tiled

if TYPE_CHECKING:
    import torch
    from torch import nn

    from srpipe.image.io import Picture

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16", "fp16")
#: what ``precision=`` accepts: a precision, or ``auto`` (see the module docstring)
PRECISION_CHOICES = ("auto", *PRECISIONS)
DEVICES = ("auto", "cpu", "cuda", "mps")
#: the smallest tile the out-of-memory retry goes down to
MIN_TILE = 32


def resolve_device(device: str) -> str:
    """``auto`` -> cuda / mps / cpu, whichever is present; check an explicit choice exists."""
    import torch

    name = (device or "auto").lower()
    base = name.split(":")[0]
    if base not in DEVICES:
        raise SrpipeError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    if base == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if base == "cuda" and not torch.cuda.is_available():
        raise SrpipeError("--device cuda was asked for but no CUDA GPU is visible; use cpu or auto")
    if base == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise SrpipeError("--device mps was asked for but MPS is not available; use cpu or auto")
    return name


def check_precision(precision: str, device: str) -> str:
    """Validate ``precision`` for ``device`` (fp16 needs CUDA; bf16 needs CPU or CUDA)."""
    precision = (precision or "fp32").lower()
    if precision not in PRECISION_CHOICES:
        raise SrpipeError(
            f"unknown precision {precision!r}; use one of {', '.join(PRECISION_CHOICES)}"
        )
    base = device.split(":")[0]
    if precision == "fp16" and base != "cuda":
        raise SrpipeError(
            f"fp16 needs a CUDA GPU (device is {device}); use --precision bf16 or fp32"
        )
    if precision == "bf16" and base == "mps":
        raise SrpipeError("bf16 is not supported on MPS here; use --precision fp32")
    return precision


class Upscaler:
    """Upscale RGB uint8 images by ``scale`` with ``method`` (see the module docstring).

    Attributes: ``method`` (what was asked), ``scale``, ``name`` (display name),
    ``weights_hash`` (sha256 of the weights file; None for classic methods), ``device``,
    ``precision`` (the one used), ``requested_precision``, ``precision_reason`` (why the one
    used differs from the one asked, or None), ``meta`` (checkpoint metadata; empty for
    classic methods).
    """

    def __init__(
        self,
        method: str = "bicubic",
        scale: float = 4,
        *,
        device: str = "auto",
        precision: str = "fp32",
        tile: int = 0,
        tile_overlap: int = 16,
        batch_size: int = 4,
        self_ensemble: bool = False,
        channels_last: bool = True,
        memory: int | str | None = None,
        _module: nn.Module | None = None,
        _meta: dict[str, Any] | None = None,
    ) -> None:
        self.method = str(method)
        if not float(scale) >= 1:
            raise SrpipeError(f"scale must be >= 1, got {scale}")
        # integer scales stay ints (file names, reports); LIIF also takes fractional ones
        self.scale: int | float = int(scale) if float(scale).is_integer() else float(scale)
        if not isinstance(self.scale, int) and tile > 0:
            raise SrpipeError(
                f"tiling needs an integer scale (x{self.scale:g} output tiles would not align); "
                "use --tile 0: LIIF decodes its output in bounded chunks by itself"
            )
        if tile < 0 or tile_overlap < 0 or batch_size < 1:
            raise SrpipeError(
                f"tile ({tile}) and tile overlap ({tile_overlap}) must be >= 0 and batch size "
                f"({batch_size}) >= 1"
            )
        self.tile = int(tile)
        self.tile_overlap = int(tile_overlap)
        self.batch_size = int(batch_size)
        self.self_ensemble = bool(self_ensemble)
        self.channels_last = bool(channels_last)
        self._memory_setting = memory
        self._memory_budget: int | None = None
        self._bytes_per_pixel: float | None = None
        self.meta: dict[str, Any] = {}
        self.model: nn.Module | None = None
        key = self.method.lower()
        if _module is None and key in ("none", *CLASSIC_METHODS):
            # Classic interpolation is numpy code: no torch, no device, no precision.
            self.kind = "identity" if key == "none" else "classic"
            self.name = key
            self.weights_hash = None
            self.device = "cpu"
            self.requested_precision = (precision or "fp32").lower()
            if self.requested_precision not in PRECISION_CHOICES:
                raise SrpipeError(
                    f"unknown precision {precision!r}; use one of {', '.join(PRECISION_CHOICES)}"
                )
            # numpy arithmetic: there is nothing for auto to choose
            auto = self.requested_precision == "auto"
            self.precision = "fp32" if auto else self.requested_precision
            self.precision_reason = None
            return
        self.kind = "model"
        self.device = resolve_device(device)
        self.requested_precision = check_precision(precision, self.device)
        default_name = self.method
        if _module is None:
            _module, _meta = load_model(self.method, self.scale, device=self.device)
            if looks_like_path(self.method):
                # a checkpoint file is named after the file, so two trainings stay apart
                default_name = Path(self.method).stem
                _meta = {k: v for k, v in (_meta or {}).items() if k != "name"}
        self.meta = dict(_meta or {})
        self.name = str(self.meta.get("name") or default_name)
        self.weights_hash = self.meta.get("sha256")
        self._choose_precision()
        self.model = self._prepare_module(_module)

    def _choose_precision(self) -> None:
        """The precision used: the one asked, unless emulated here; ``auto`` decided."""
        requested = self.requested_precision
        exact = bf16_exact(self.name, self.scale) if requested == "auto" else None
        choice = choose_precision(requested, self.device, bf16_exact=exact)
        self.precision = check_precision(choice.precision, self.device)
        self.precision_reason = choice.reason
        if requested == "bf16" and self.precision != "bf16":
            log.warning("srpipe: --precision bf16: %s", choice.reason)

    @classmethod
    def from_module(
        cls,
        module: nn.Module,
        scale: int,
        *,
        name: str = "custom",
        weights_hash: str | None = None,
        **options: Any,
    ) -> Upscaler:
        """Wrap an in-memory ``nn.Module`` (RGB [0,1] in, x``scale`` out) as an Upscaler.

        ``options`` are the constructor's keyword options (device, precision, tile, ...).
        """
        meta = {"name": name, "arch": name, "scale": int(scale), "sha256": weights_hash}
        return cls(name, scale, _module=module, _meta=meta, **options)

    # ------------------------------------------------------------------ set-up

    def _prepare_module(self, module: nn.Module) -> nn.Module:
        from srpipe.models.layout import to_channels_last
        from srpipe.models.shuffle_fold import folded_copy

        module = module.to(self.device).eval()
        for param in module.parameters():
            param.requires_grad_(False)
        if self.precision == "bf16":
            # the last pixel shuffle folded into the conv after it (srpipe.models.shuffle_fold),
            # measured within bf16's one-level allowance; fp32 keeps the network as written
            module = folded_copy(module)
        if self.channels_last:
            module = to_channels_last(module)
        return module

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (for ``--json`` outputs and reports)."""
        return {
            "method": self.method,
            "name": self.name,
            "scale": self.scale,
            "kind": self.kind,
            "device": self.device,
            "precision": self.precision,
            "precision_requested": self.requested_precision,
            "precision_reason": self.precision_reason or "as asked",
            "tile": self.tile,
            "tile_overlap": self.tile_overlap,
            "self_ensemble": self.self_ensemble,
            "weights_sha256": self.weights_hash,
        }

    def __repr__(self) -> str:
        return (
            f"Upscaler({self.name!r}, scale={self.scale}, device={self.device!r}, "
            f"precision={self.precision!r}, tile={self.tile})"
        )

    # ------------------------------------------------------------------ public API

    def check_output_size(self, width: int, height: int, name: str | None = None) -> None:
        """Refuse, in one line and before any work, an input whose output would exceed the
        pixel limit inputs have (``SRPIPE_MAX_PIXELS``): x1000 of 32x24 is 768 MP."""
        factor = 1 if self.kind == "identity" else self.scale
        check_output_pixels(name or f"a {width}x{height} image", width, height, factor)

    def __call__(self, img: np.ndarray) -> np.ndarray:
        """Upscale one RGB uint8 (H, W, 3) image to uint8 (H*s, W*s, 3)."""
        return self.upscale_batch([img])[0]

    def upscale_batch(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Upscale several RGB uint8 images; same-size ones share a forward pass.

        Single-channel uint16 (H, W) images are accepted too (see the module docstring).
        """
        for img in images:
            self.check_output_size(np.shape(img)[1], np.shape(img)[0])
        if any(_is_grey16(img) for img in images):
            return [
                self._upscale_grey16(img) if _is_grey16(img) else self.upscale_batch([img])[0]
                for img in images
            ]
        images = [_check_rgb(img) for img in images]
        if self.kind == "identity":
            return [img.copy() for img in images]
        if self.kind == "classic":
            return [imresize(img, self.scale, method=self.name) for img in images]
        return self._run_model(images, out_dtype=np.uint8)

    def _upscale_grey16(self, img: np.ndarray) -> np.ndarray:
        """One (H, W) uint16 image: classic methods direct, models on its own value window."""
        if self.kind == "identity":
            return img.copy()
        if self.kind == "classic":
            return imresize(img, self.scale, method=self.name)
        low, high = float(img.min()), float(img.max())
        span = high - low
        if span == 0:  # a constant image has no window; any upscaler returns the constant
            return imresize(img, self.scale, method="nearest")
        window = ((img.astype(np.float32) - low) / span)[:, :, None].repeat(3, axis=2)
        out = self._run_model([window], out_dtype=np.float32)[0].astype(np.float64)
        values = out.mean(axis=2) * span + low
        return np.floor(np.clip(values, 0.0, 65535.0) + 0.5).astype(np.uint16)

    def upscale_float(self, img: np.ndarray) -> np.ndarray:
        """Upscale a float RGB (H, W, 3) image in [0, 1]; returns float32 clamped to [0, 1].

        Used for 16-bit inputs and for exact comparisons before uint8 rounding.
        """
        img = np.asarray(img, dtype=np.float32)
        if img.ndim != 3 or img.shape[2] != 3:
            raise SrpipeError(f"expected an (H, W, 3) RGB image, got shape {img.shape}")
        self.check_output_size(img.shape[1], img.shape[0])
        if self.kind == "identity":
            return np.clip(img, 0.0, 1.0)
        if self.kind == "classic":
            return np.clip(imresize(img, self.scale, method=self.name), 0.0, 1.0)
        return self._run_model([img], out_dtype=np.float32)[0]

    def upscale_picture(self, picture: Picture) -> Picture:
        """Upscale a :class:`~srpipe.image.io.Picture`, keeping 16-bit depth and alpha.

        The alpha channel is upscaled on its own with MATLAB bicubic (an SR model is trained
        on colour, not on masks). Grey pictures stay grey (the channel mean of the output).
        """
        return self.upscale_pictures([picture])[0]

    def upscale_pictures(self, pictures: Sequence[Picture]) -> list[Picture]:
        """:meth:`upscale_picture` for several pictures; 8-bit ones of one size are batched."""
        eight = [i for i, p in enumerate(pictures) if p.bit_depth == 8]
        colour: dict[int, np.ndarray] = dict(
            zip(eight, self.upscale_batch([pictures[i].rgb for i in eight]))
        )
        for i, picture in enumerate(pictures):
            if i not in colour:
                up = self.upscale_float(picture.rgb.astype(np.float32) / 65535.0)
                colour[i] = np.floor(up * 65535.0 + 0.5).astype(np.uint16)
        return [self._finish_picture(p, colour[i]) for i, p in enumerate(pictures)]

    def _finish_picture(self, picture: Picture, rgb: np.ndarray) -> Picture:

        if picture.grey:
            grey = np.floor(rgb.astype(np.float64).mean(axis=2) + 0.5).astype(rgb.dtype)
            rgb = np.repeat(grey[:, :, None], 3, axis=2)
        alpha = None
        if picture.alpha is not None:
            factor = 1 if self.kind == "identity" else self.scale
            if picture.alpha.dtype == np.uint8:
                alpha = imresize(picture.alpha, factor, method="bicubic")
            else:
                up = imresize(picture.alpha.astype(np.float64), factor, method="bicubic")
                alpha = np.floor(np.clip(up, 0, 65535) + 0.5).astype(np.uint16)
        return Picture(rgb=rgb, alpha=alpha, bit_depth=picture.bit_depth, grey=picture.grey)

    # ------------------------------------------------------------------ model path

    @property
    def memory_budget(self) -> int:
        """Bytes one upscale plans for (``memory=``, ``$SRPIPE_MEMORY`` or a share of free)."""
        if self._memory_budget is None:
            self._memory_budget = memory_budget(self.device, self._memory_setting)
        return self._memory_budget

    def bytes_per_pixel(self) -> float:
        """Peak activation bytes per LR pixel of one forward, measured on a 32x32 probe.

        Every leaf module's output size is recorded; at the peak a layer's input, its output
        and a skip connection of the largest size are alive, hence three times the largest
        output (times 4 bytes: fp32, and autocast keeps fp32 copies). This follows the
        model's width and its output size without knowing the architecture.
        """
        if self._bytes_per_pixel is None:
            import torch

            side = 16
            largest = [3 * self.scale * self.scale]

            def record(module, inputs, output) -> None:
                if isinstance(output, torch.Tensor):
                    largest[0] = max(largest[0], output[0].numel())

            hooks = [
                m.register_forward_hook(record)
                for m in self.model.modules()
                if not list(m.children())
            ]
            try:
                self._forward_once(torch.zeros(1, 3, side, side))
                per_px = largest[0] / (side * side)
            except Exception:
                # a model that cannot run the probe: assume its widest conv works at the
                # output resolution (an upper bound for post-upsampling networks)
                widths = [
                    m.out_channels for m in self.model.modules() if hasattr(m, "out_channels")
                ]
                per_px = max(widths or [64]) * self.scale**2
            finally:
                for hook in hooks:
                    hook.remove()
            self._bytes_per_pixel = 3 * 4 * per_px
        return self._bytes_per_pixel

    def _image_bytes(self, height: int, width: int) -> int:
        """Memory of one whole-image forward beyond activations: float output (+ ensemble)."""
        out_floats = height * width * self.scale**2 * 3 * 4
        return out_floats * (2 if self.self_ensemble else 1)

    def _fits_whole(self, height: int, width: int, count: int = 1) -> bool:
        need = count * (self.bytes_per_pixel() * height * width + self._image_bytes(height, width))
        return need <= self.memory_budget

    def _tile_for(self, height: int, width: int) -> int:
        """The tile size for one image: ``--tile``, 0 when it fits whole, else from the budget.

        The budget pays for the output array, the float strip the tiler keeps (a row of
        tiles across the whole output width, plus its carried band) and one tile's
        activations; the tile is the largest square whose sum fits.
        """
        if self.tile > 0:
            return self.tile
        if not isinstance(self.scale, int) or self._fits_whole(height, width):
            return 0  # fractional scales (LIIF) decode in bands instead of tiles
        out_bytes = height * width * self.scale**2 * 3 * 2  # uint8 or uint16 result
        per_px = self.bytes_per_pixel()
        tile = min(max(height, width), 2048)
        overlap = self._tile_overlap_used()
        while tile > MIN_TILE:
            seen = tile + 2 * overlap
            strip = 2 * (tile + overlap) * self.scale * width * self.scale * 3 * 4
            tile_out = seen * seen * self.scale**2 * 3 * 4 * (2 if self.self_ensemble else 1)
            if out_bytes + strip + per_px * seen * seen + tile_out <= self.memory_budget:
                return tile
            tile = int(tile * 0.9)
        return MIN_TILE

    def _batch_for(self, height: int, width: int) -> int:
        """How many same-size whole images one forward may take within the budget."""
        count = self.batch_size
        while count > 1 and not self._fits_whole(height, width, count):
            count -= 1
        return count

    def _run_model(self, images: list[np.ndarray], out_dtype: np.dtype) -> list[np.ndarray]:
        results: list[np.ndarray | None] = [None] * len(images)
        whole: dict[tuple[int, ...], list[int]] = {}
        for i, img in enumerate(images):
            # an image within the overlap would give every tile the whole image as context
            if self._tile_for(*img.shape[:2]) and max(img.shape[:2]) > self._tile_overlap_used():
                results[i] = self._run_tiled_with_retry(img, out_dtype)
            else:
                whole.setdefault(img.shape, []).append(i)
        for shape, indices in whole.items():
            step = self._batch_for(*shape[:2])
            for start in range(0, len(indices), step):
                chunk = indices[start : start + step]
                try:
                    outs = self._forward_batch([images[i] for i in chunk], out_dtype)
                except Exception as exc:
                    if not self._is_oom(exc):
                        raise
                    self._free_device_memory()
                    log.warning(
                        "out of %s memory on a whole image; retrying with tiles", self.device
                    )
                    outs = [
                        self._run_tiled_with_retry(
                            images[i], out_dtype, start_tile=max(images[i].shape[:2]) // 2
                        )
                        for i in chunk
                    ]
                for i, out in zip(chunk, outs):
                    results[i] = out
        return results  # type: ignore[return-value]

    def _run_tiled_with_retry(
        self, img: np.ndarray, out_dtype: np.dtype, start_tile: int | None = None
    ) -> np.ndarray:

        tile = start_tile or self._tile_for(*img.shape[:2])
        while True:
            try:
                return upscale_tiled(
                    img,
                    self._process_tile,
                    self.scale,
                    tile=tile,
                    overlap=self._tile_overlap_used(),
                    finish=quantiser(out_dtype),
                    out_dtype=out_dtype,
                    align=getattr(self.model, "tile_alignment", 1),
                )
            except Exception as exc:
                if not self._is_oom(exc) or tile <= MIN_TILE:
                    if self._is_oom(exc):
                        advice = (
                            "free some memory, use a smaller model or --precision bf16"
                            if self.device == "cpu"
                            else "use a smaller model, --precision fp16/bf16 or --device cpu"
                        )
                        raise SrpipeError(
                            f"out of {self.device} memory even with {tile}px tiles; {advice}"
                        ) from None
                    raise
                self._free_device_memory()
                tile = max(MIN_TILE, tile // 2)
                log.warning("out of %s memory; retrying with %dpx tiles", self.device, tile)

    def _tile_overlap_used(self) -> int:
        """``tile_overlap``, raised to the network's ``min_tile_overlap`` when it declares one:
        the context its tiles need to match its untiled forward (window models, RRDBNet)."""
        return max(self.tile_overlap, getattr(self.model, "min_tile_overlap", 0))

    def _is_oom(self, exc: BaseException) -> bool:
        import torch

        if isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)):
            return True
        text = str(exc).lower()
        # CPU: torch's allocator says "can't allocate memory"; numpy raises MemoryError
        return isinstance(exc, RuntimeError) and (
            "out of memory" in text or "can't allocate memory" in text
        )

    def _free_device_memory(self) -> None:
        import torch

        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    def _process_tile(self, tile: np.ndarray) -> np.ndarray:
        """One (h, w, 3) CPU tile -> (h*s, w*s, 3) float32 CPU output, unclamped."""
        return self._forward(images_to_tensor([tile]))[0].permute(1, 2, 0).numpy()

    def _forward_batch(self, images: list[np.ndarray], out_dtype: np.dtype) -> list[np.ndarray]:
        return to_pixels(self._forward(images_to_tensor(images)), out_dtype)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, h, w) CPU float32 -> (N, 3, h*s, w*s) CPU float32, self-ensembled if asked."""
        if self.self_ensemble:
            return self_ensemble(self._forward_once, x)
        return self._forward_once(x)

    def _forward_once(self, x: torch.Tensor) -> torch.Tensor:
        return network_forward(
            self.model,
            x,
            scale=self.scale,
            device=self.device,
            precision=self.precision,
            channels_last=self.channels_last,
            name=self.name,
        )


def _is_grey16(img: np.ndarray) -> bool:
    return isinstance(img, np.ndarray) and img.dtype == np.uint16 and img.ndim == 2


def _check_rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise SrpipeError(
            f"Upscaler expects RGB uint8 (H, W, 3) images, got {img.dtype} {img.shape}; "
            "read files with srpipe.image.io.read_image"
        )
    return img
