"""Pixel losses of the SR recipes: L1 (MAE, the EDSR/RCAN choice) and L2 (MSE, SRCNN's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from srpipe.errors import SrpipeError

if TYPE_CHECKING:
    from torch import nn

#: config name -> canonical name; "mae"/"mse" are the seed document's words
ALIASES = {"l1": "l1", "mae": "l1", "l2": "l2", "mse": "l2"}


def build_loss(name: str) -> nn.Module:
    """The loss module for ``name`` (``l1``/``mae`` or ``l2``/``mse``), mean over all pixels."""
    from torch import nn

    canonical = ALIASES.get(str(name).lower())
    if canonical is None:
        raise SrpipeError(f"unknown loss {name!r}; use l1 (MAE) or l2 (MSE)")
    return nn.L1Loss() if canonical == "l1" else nn.MSELoss()
