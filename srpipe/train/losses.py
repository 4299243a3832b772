"""The loss registry of the SR recipes: name -> pixel loss.

* ``l1`` / ``mae`` (EDSR, RCAN, SRFBN), ``l2`` / ``mse`` (SRCNN, VDSR, DRRN, MemNet);
* ``charbonnier`` (LapSRN): sqrt(d^2 + eps^2), a differentiable L1 with eps = 1e-3.

Every loss also accepts a *list* of outputs, which deeply supervised networks return in
training (``deep_supervision=True``: LapSRN's pyramid levels, SRFBN's steps): the loss is
the sum over the outputs (weight 1 each, as both papers), and an output smaller than the
HR image is compared with the HR image bicubic-downscaled to its size (LapSRN's x2 level
against HR/2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from srpipe.errors import SrpipeError
from srpipe.image.resize import imresize

if TYPE_CHECKING:
    import torch
    from torch import nn

#: config name -> canonical name; "mae"/"mse" are the seed document's words
ALIASES = {"l1": "l1", "mae": "l1", "l2": "l2", "mse": "l2", "charbonnier": "charbonnier"}

#: LapSRN's Charbonnier epsilon (the paper's value)
CHARBONNIER_EPS = 1e-3


def _charbonnier(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.sqrt((pred - target) ** 2 + CHARBONNIER_EPS**2).mean()


def _pixel_loss(canonical: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    import torch.nn.functional as F

    return {"l1": F.l1_loss, "l2": F.mse_loss, "charbonnier": _charbonnier}[canonical]


def build_loss(name: str) -> nn.Module:
    """The loss module for ``name`` (see :data:`ALIASES`), mean over all pixels."""
    from torch import nn

    canonical = ALIASES.get(str(name).lower())
    if canonical is None:
        raise SrpipeError(f"unknown loss {name!r}; use one of {', '.join(ALIASES)}")
    pixel = _pixel_loss(canonical)

    class PixelLoss(nn.Module):
        def forward(
            self, output: torch.Tensor | list[torch.Tensor], target: torch.Tensor
        ) -> torch.Tensor:
            if not isinstance(output, (list, tuple)):
                return pixel(output.float(), target)
            return sum(pixel(out.float(), _target_for(out, target)) for out in output)

    PixelLoss.__name__ = f"{canonical.capitalize()}Loss"
    return PixelLoss()


def _target_for(output: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """``hr`` at ``output``'s size: itself, or MATLAB-bicubic downscaled to it."""
    if output.shape[-2:] == hr.shape[-2:]:
        return hr
    import torch

    with torch.no_grad():
        return imresize(hr, output_size=tuple(output.shape[-2:]))
