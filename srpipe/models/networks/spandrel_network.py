"""A spandrel model descriptor as an ``nn.Module`` with srpipe's model contract.

spandrel builds the architecture (see :mod:`srpipe.models.spandrel_loader`); this module only
adapts its call to the ``nn.Module`` every srpipe Upscaler runs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class SpandrelNetwork(nn.Module):
    """RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale) through a spandrel model.

    ``forward`` is spandrel's own call: it pads the input to the size the architecture needs
    (SwinIR's window multiple, say), crops the output back and clamps it to [0, 1]. The
    network is a registered submodule, so moving, casting and channels_last reach its weights.
    """

    def __init__(self, descriptor: Any) -> None:
        super().__init__()
        self.network = descriptor.model
        self.scale = descriptor.scale
        self._descriptor = descriptor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._descriptor(x)
