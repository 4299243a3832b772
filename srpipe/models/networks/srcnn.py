"""SRCNN (Dong et al., "Image Super-Resolution Using Deep Convolutional Networks",
TPAMI 2016, arXiv:1501.00092; ECCV 2014).

Three convolutions on the bicubic-upscaled Y channel: patch extraction (9x9, 64),
non-linear mapping (5x5, 32), reconstruction (5x5). The 9-5-5 network has 57,281
parameters at every scale (upsampling happens outside the network, before it).
Convolutions use 'same' padding so the output keeps the input size (the paper trained
without padding and cropped the border). Scales x2, x3, x4, x8.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.networks.luma import LumaSR


class SRCNN(LumaSR):
    """SRCNN on bicubic-upscaled Y (``n_colors=1``, the paper) or RGB."""

    pre_upsample = True

    def __init__(
        self,
        scale: int = 4,
        n_colors: int = 1,
        f1: int = 9,
        f2: int = 5,
        f3: int = 5,
        n1: int = 64,
        n2: int = 32,
    ) -> None:
        super().__init__(scale, n_colors)
        self.conv1 = nn.Conv2d(n_colors, n1, f1, padding=f1 // 2)
        self.conv2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2)
        self.conv3 = nn.Conv2d(n2, n_colors, f3, padding=f3 // 2)
        self.relu = nn.ReLU(inplace=True)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.relu(self.conv2(self.relu(self.conv1(x)))))
