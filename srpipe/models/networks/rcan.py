"""RCAN (Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel Attention
Networks", ECCV 2018, arXiv:1807.02758).

Residual-in-residual: ``n_resgroups`` residual groups, each ``n_resblocks`` residual
channel-attention blocks (RCAB) and a conv with a short skip, plus a long skip over all
groups; pixel-shuffle tail. Paper: 10 groups x 20 blocks, 64 features, reduction 16:
15.4M parameters at x2, 15.6M at x3 and x4. Scales x2, x3, x4, x8.

Module names equal the official code's (``body.G.body.B.body.3.conv_du.0`` ...) so its
checkpoints (e.g. ``RCAN_BIX4.pt``) load as they are.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.blocks import DIV2K_RGB_MEAN, RCAB, MeanShift, Upsampler, conv3x3


class ResidualGroup(nn.Module):
    """``n_resblocks`` RCABs, a conv, and a short skip connection around them."""

    def __init__(
        self, n_feats: int, n_resblocks: int, reduction: int, kernel_size: int = 3
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *(RCAB(n_feats, kernel_size, reduction) for _ in range(n_resblocks)),
            conv3x3(n_feats, n_feats, kernel_size),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.body(x)
        res += x
        return res


class RCAN(nn.Module):
    """RCAN mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale)."""

    def __init__(
        self,
        scale: int = 4,
        n_resgroups: int = 10,
        n_resblocks: int = 20,
        n_feats: int = 64,
        reduction: int = 16,
        rgb_range: float = 255.0,
        n_colors: int = 3,
        kernel_size: int = 3,
        rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.rgb_range = float(rgb_range)
        self.sub_mean = MeanShift(rgb_range, rgb_mean, sign=-1)
        self.head = nn.Sequential(conv3x3(n_colors, n_feats, kernel_size))
        self.body = nn.Sequential(
            *(
                ResidualGroup(n_feats, n_resblocks, reduction, kernel_size)
                for _ in range(n_resgroups)
            ),
            conv3x3(n_feats, n_feats, kernel_size),
        )
        self.tail = nn.Sequential(
            Upsampler(scale, n_feats, kernel_size), conv3x3(n_feats, n_colors, kernel_size)
        )
        self.add_mean = MeanShift(rgb_range, rgb_mean, sign=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x * self.rgb_range))
        res = self.body(x)
        res += x
        return self.add_mean(self.tail(res)) / self.rgb_range
