"""The one SR forward: a network's pass over image tensors, and how its output becomes pixels.

Every number srpipe reports for an SR network comes through here: the
:class:`~srpipe.upscaling.upscaler.Upscaler` (``eval``, ``run``, ``upscale``) and training's
validation (:mod:`srpipe.train`) alike, so a checkpoint's validation PSNR during training is
the PSNR ``srpipe eval sr`` measures for it. The steps are: uint8 or float [0, 1] images to
an (N, 3, H, W) float32 tensor; the network on the device (``channels_last`` input if asked,
under ``torch.inference_mode`` and, below fp32, autocast), its output shape checked against
the scale; back to the CPU as float32; clamped to [0, 1] and quantised rounding half up.

It is separate from the Upscaler because training must run a network it is still training:
the Upscaler takes a model over (moves it, freezes its parameters, changes its layout), plans
tiles and batches from a memory budget and loads checkpoints, none of which a validation
pass may do to the live model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.image.resize import output_length

if TYPE_CHECKING:
    import torch
    from torch import nn


def autocast(precision: str, device: str) -> contextlib.AbstractContextManager[Any]:
    """The autocast context for ``precision`` on ``device`` (fp32: none).

    Training's steps use it too, so a model trains and is measured under the same casts.
    """
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch

    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=str(device).split(":")[0], dtype=dtype)


def images_to_tensor(images: Sequence[np.ndarray]) -> torch.Tensor:
    """uint8 or float [0, 1] (H, W, 3) arrays -> (N, 3, H, W) float32 CPU tensor."""
    import torch

    batch = np.stack(images)
    x = torch.from_numpy(np.ascontiguousarray(batch))
    x = x.float().div_(255.0) if batch.dtype == np.uint8 else x.float()
    return x.permute(0, 3, 1, 2).contiguous()


def network_forward(
    model: nn.Module,
    x: torch.Tensor,
    *,
    scale: float,
    device: str,
    precision: str = "fp32",
    channels_last: bool = True,
    name: str = "model",
) -> torch.Tensor:
    """One pass of ``model``: (N, 3, h, w) CPU float32 -> (N, 3, h*s, w*s) CPU float32, unclamped.

    ``model`` must already be on ``device`` and in eval mode; its output shape is checked
    against ``scale`` (a x2 network asked for x4 is one clear line, not a broadcast error).
    """
    import torch

    x = x.to(device, non_blocking=True)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), autocast(precision, device):
        y = model(x)
    expected = (
        x.shape[0],
        x.shape[1],
        output_length(x.shape[2], scale),
        output_length(x.shape[3], scale),
    )
    if tuple(y.shape) != expected:
        raise SrpipeError(
            f"{name} returned shape {tuple(y.shape)} for input {tuple(x.shape)}; "
            f"expected {expected} (is it a x{scale:g} model?)"
        )
    return y.float().cpu().contiguous()


def to_pixels(y: torch.Tensor, out_dtype: Any = np.uint8) -> list[np.ndarray]:
    """(N, 3, H, W) float output -> N (H, W, 3) arrays of ``out_dtype``, clamped and quantised."""
    finish = quantiser(out_dtype)
    return [finish(y[i].permute(1, 2, 0).numpy()) for i in range(y.shape[0])]


def super_resolve(
    model: nn.Module,
    images: Sequence[np.ndarray],
    *,
    scale: float,
    device: str,
    precision: str = "fp32",
    channels_last: bool = True,
) -> list[np.ndarray]:
    """Same-size uint8 RGB images through ``model`` in one batch; uint8 RGB out.

    What the Upscaler does for a whole-image batch without self-ensemble; training validates
    with it. ``model`` must be on ``device`` and in eval mode.
    """
    x = images_to_tensor(images)
    y = network_forward(
        model, x, scale=scale, device=device, precision=precision, channels_last=channels_last
    )
    return to_pixels(y)


def quantiser(out_dtype: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Clamp [0, 1] float output and quantise it (round half up) to ``out_dtype``.

    Works in place on the float block it is given (a strip the caller discards), so a
    16000-pixel-wide strip does not spawn several float temporaries of its size. A float
    ``out_dtype`` is only clamped.
    """
    peak = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(np.dtype(out_dtype))

    def finish(y: np.ndarray) -> np.ndarray:
        y = y if y.flags.writeable and y.dtype == np.float32 else y.astype(np.float32)
        np.clip(y, 0.0, 1.0, out=y)
        if peak is None:
            return y.copy() if not y.flags.c_contiguous else y
        y *= peak
        y += 0.5
        np.floor(y, out=y)
        return y.astype(out_dtype)

    return finish


def _dihedral_ops() -> list[tuple[Callable[[Any], Any], Callable[[Any], Any]]]:
    """The 8 dihedral transforms of (N, C, H, W) tensors with their inverses."""

    def make(flip_w: bool, flip_h: bool, transpose: bool):
        def forward(t):
            if flip_w:
                t = t.flip(-1)
            if flip_h:
                t = t.flip(-2)
            if transpose:
                t = t.transpose(-1, -2)
            return t

        def inverse(t):
            if transpose:
                t = t.transpose(-1, -2)
            if flip_h:
                t = t.flip(-2)
            if flip_w:
                t = t.flip(-1)
            return t

        return forward, inverse

    return [make(a, b, c) for a in (False, True) for b in (False, True) for c in (False, True)]


#: the self-ensemble's transforms: (transform, inverse) pairs
DIHEDRAL = _dihedral_ops()


def self_ensemble(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The mean of ``forward`` over the 8 flips/rotations of ``x``, each transformed back."""
    acc = None
    for transform, inverse in DIHEDRAL:
        y = inverse(forward(transform(x)))
        acc = y if acc is None else acc.add_(y)
    return acc.div_(len(DIHEDRAL))
