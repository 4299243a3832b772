"""ESPCN (Shi et al., "Real-Time Single Image and Video Super-Resolution Using an
Efficient Sub-Pixel Convolutional Neural Network", CVPR 2016, arXiv:1609.05158).

Three convolutions on the LR Y channel (5x5 64, 3x3 32, 3x3 r*r), tanh activations,
then one pixel shuffle (the sub-pixel convolution) by the full scale r. Parameters:
21,284 at x2, 22,729 at x3, 24,752 at x4 (the paper quotes 21-25K). Scales x2, x3, x4,
x8 (x8 is a single x8 shuffle, as the paper's design has one sub-pixel layer).
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.networks.luma import LumaSR


class ESPCN(LumaSR):
    """ESPCN on LR Y (``n_colors=1``, the paper) or RGB."""

    def __init__(self, scale: int = 4, n_colors: int = 1, n1: int = 64, n2: int = 32) -> None:
        super().__init__(scale, n_colors)
        self.conv1 = nn.Conv2d(n_colors, n1, 5, padding=2)
        self.conv2 = nn.Conv2d(n1, n2, 3, padding=1)
        self.conv3 = nn.Conv2d(n2, n_colors * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.conv1(x))
        x = torch.tanh(self.conv2(x))
        return self.shuffle(self.conv3(x))
