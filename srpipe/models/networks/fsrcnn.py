"""FSRCNN (Dong et al., "Accelerating the Super-Resolution Convolutional Neural Network",
ECCV 2016, arXiv:1608.00367).

Works on the LR Y channel and upsamples at the end with a transposed convolution:
feature extraction 5x5 (d), shrinking 1x1 (s), m mapping layers 3x3 (s), expanding 1x1
(d), deconvolution 9x9 with stride = scale. FSRCNN(56, 12, 4) has 12,637 convolution
parameters at every scale (plus 172 PReLU slopes, which the paper's count leaves out).
Scales x2, x3, x4, x8.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.networks.luma import LumaSR


class FSRCNN(LumaSR):
    """FSRCNN(d, s, m) on LR Y (``n_colors=1``, the paper) or RGB."""

    def __init__(
        self, scale: int = 4, n_colors: int = 1, d: int = 56, s: int = 12, m: int = 4
    ) -> None:
        super().__init__(scale, n_colors)
        self.feature = nn.Sequential(nn.Conv2d(n_colors, d, 5, padding=2), nn.PReLU(d))
        self.shrink = nn.Sequential(nn.Conv2d(d, s, 1), nn.PReLU(s))
        self.mapping = nn.Sequential(
            *(layer for _ in range(m) for layer in (nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)))
        )
        self.expand = nn.Sequential(nn.Conv2d(s, d, 1), nn.PReLU(d))
        # stride = scale; padding 4 and output_padding scale-1 give exactly h*scale x w*scale
        self.deconv = nn.ConvTranspose2d(
            d, n_colors, 9, stride=scale, padding=4, output_padding=scale - 1
        )

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.expand(self.mapping(self.shrink(self.feature(x)))))
