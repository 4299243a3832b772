"""EDSR and EDSR-baseline (Lim et al., "Enhanced Deep Residual Networks for Single Image
Super-Resolution", CVPRW 2017, arXiv:1707.02921).

Residual blocks without batch norm, a global skip over the body, residual scaling for the
wide model, and a pixel-shuffle tail. Parameters (trainable, MeanShift frozen):
EDSR-baseline (16 x 64, res_scale 1) 1.370M at x2, 1.555M at x3, 1.518M at x4;
EDSR (32 x 256, res_scale 0.1) 40.7M at x2, 43.7M at x3, 43.1M at x4. Scales x2, x3, x4, x8.

Module names equal EDSR-PyTorch's (``sub_mean``, ``head.0``, ``body.N.body.{0,2}``,
``tail.0.*``, ``tail.1``, ``add_mean``) so its checkpoints load as they are.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.blocks import DIV2K_RGB_MEAN, MeanShift, ResBlock, Upsampler, conv3x3


class EDSR(nn.Module):
    """EDSR mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale).

    ``rgb_range`` is the range the convolutions see (255 as in EDSR-PyTorch, so its
    checkpoints work); inputs and outputs stay in [0, 1] for the caller.
    """

    def __init__(
        self,
        scale: int = 4,
        n_resblocks: int = 16,
        n_feats: int = 64,
        res_scale: float = 1.0,
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
            *(ResBlock(n_feats, kernel_size, res_scale) for _ in range(n_resblocks)),
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
