"""A spandrel model descriptor as an ``nn.Module`` with srpipe's model contract.

spandrel builds the architecture (see :mod:`srpipe.models.spandrel_loader`); this module only
adapts its call to the ``nn.Module`` every srpipe Upscaler runs, and says how the Upscaler's
tiles must be cut for the architecture to give its untiled result.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from srpipe.models.networks.rrdbnet import rrdbnet_tile_overlap

#: context a window-attention network's tiles get, in windows: measured on random-weight
#: SwinIRs (window 8, 2 and 24 attention layers), tiles on the window grid with 2 windows of
#: context already agreed with the untiled forward within 1 uint8 level; 4 leaves a margin
#: for trained attention, which can reach further
WINDOWS_OF_CONTEXT = 4


def _window_size(network: nn.Module) -> int:
    """The attention window (SwinIR, HAT, Swin2SR... store ``window_size``), or 1."""
    window = getattr(network, "window_size", 1)
    if isinstance(window, (tuple, list)):
        return math.lcm(*(int(w) for w in window))
    return int(window) if isinstance(window, int) and window > 0 else 1


class SpandrelNetwork(nn.Module):
    """RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale) through a spandrel model.

    ``forward`` is spandrel's own call: it pads the input to the size the architecture needs
    (SwinIR's window multiple, say), crops the output back and clamps it to [0, 1]. The
    network is a registered submodule, so moving, casting and channels_last reach its weights.

    ``tile_alignment`` and ``min_tile_overlap`` tell the Upscaler's tiler how to cut tiles so
    they match the untiled forward: a window model partitions its input into windows counted
    from the top-left corner, so each tile's context starts on the image's window grid and
    reaches :data:`WINDOWS_OF_CONTEXT` windows; an RRDBNet (spandrel's ESRGAN) gets
    what :func:`~srpipe.models.networks.rrdbnet.rrdbnet_tile_overlap` says.
    """

    def __init__(self, descriptor: Any) -> None:
        super().__init__()
        self.network = descriptor.model
        self.scale = descriptor.scale
        self._descriptor = descriptor
        window = _window_size(self.network)
        self.tile_alignment = math.lcm(window, descriptor.size_requirements.multiple_of)
        self.min_tile_overlap = WINDOWS_OF_CONTEXT * window if window > 1 else 0
        if descriptor.architecture.id == "ESRGAN":
            self.min_tile_overlap = rrdbnet_tile_overlap(self.network)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._descriptor(x)
