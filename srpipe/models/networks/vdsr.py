"""VDSR (Kim et al., "Accurate Image Super-Resolution Using Very Deep Convolutional
Networks", CVPR 2016, arXiv:1511.04587).

20 3x3 convolutions of 64 channels with ReLU on the bicubic-upscaled Y channel, learning
the residual to it (global skip). 665K parameters (665,921) at every scale; one network
serves every scale in the paper. Scales x2, x3, x4, x8.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.networks.luma import LumaSR


class VDSR(LumaSR):
    """VDSR on bicubic-upscaled Y (``n_colors=1``, the paper) or RGB."""

    pre_upsample = True

    def __init__(
        self, scale: int = 4, n_colors: int = 1, depth: int = 20, n_feats: int = 64
    ) -> None:
        super().__init__(scale, n_colors)
        layers: list[nn.Module] = [
            nn.Conv2d(n_colors, n_feats, 3, padding=1),
            nn.ReLU(inplace=True),
        ]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(n_feats, n_feats, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(n_feats, n_colors, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)
