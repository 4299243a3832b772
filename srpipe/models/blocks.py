"""Building blocks shared by the SR networks: convolutions, mean shift, residual blocks,
pixel-shuffle upsamplers and the attention forms of the seed (channel, pixel).

Submodule names follow EDSR-PyTorch / RCAN (``body.0``, ``conv_du.0``...) on purpose: a
state dict saved by those projects then loads into our modules with no key renaming.
This module imports torch; only the network modules (``srpipe.models.networks``) import it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

#: DIV2K RGB mean used by EDSR, RCAN, RDN and BasicSR (fraction of the range).
DIV2K_RGB_MEAN: tuple[float, float, float] = (0.4488, 0.4371, 0.4040)


def conv3x3(
    in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True
) -> nn.Conv2d:
    """A 'same' convolution (odd kernel, zero padding) as every SR paper of the seed uses."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)


class MeanShift(nn.Conv2d):
    """Subtract (``sign=-1``) or add back (``sign=+1``) the dataset RGB mean as a frozen 1x1 conv.

    Kept as a convolution (not a buffer) because EDSR-PyTorch and RCAN store it that way
    (``sub_mean.weight``/``.bias``); its parameters are frozen, so they are not counted
    as trainable and the optimiser never moves them.
    """

    def __init__(
        self,
        rgb_range: float,
        rgb_mean: Sequence[float] = DIV2K_RGB_MEAN,
        rgb_std: Sequence[float] = (1.0, 1.0, 1.0),
        sign: int = -1,
    ) -> None:
        super().__init__(3, 3, kernel_size=1)
        std = torch.tensor(rgb_std, dtype=torch.float32)
        with torch.no_grad():
            self.weight.copy_(torch.eye(3).view(3, 3, 1, 1) / std.view(3, 1, 1, 1))
            self.bias.copy_(sign * rgb_range * torch.tensor(rgb_mean, dtype=torch.float32) / std)
        for p in self.parameters():
            p.requires_grad = False


class ResBlock(nn.Module):
    """EDSR residual block: conv-ReLU-conv, no batch norm, output scaled by ``res_scale``.

    Residual scaling (0.1 in the 256-feature EDSR) keeps very wide networks stable in training.
    """

    def __init__(self, n_feats: int, kernel_size: int = 3, res_scale: float = 1.0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(n_feats, n_feats, kernel_size),
            nn.ReLU(inplace=True),
            conv3x3(n_feats, n_feats, kernel_size),
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.body(x)
        if self.res_scale != 1.0:
            res = res * self.res_scale
        # in place: the conv that produced ``res`` does not need its output for backward
        res += x
        return res


def upsampler_stages(scale: int) -> list[int]:
    """Pixel-shuffle factors for ``scale``: x2 -> [2], x4 -> [2, 2], x8 -> [2, 2, 2], x3 -> [3]."""
    if scale == 3:
        return [3]
    if scale >= 2 and scale & (scale - 1) == 0:
        return [2] * int(math.log2(scale))
    raise ValueError(
        f"pixel-shuffle upsampling supports x2, x3, x4, x8 (powers of two), not x{scale}"
    )


class Upsampler(nn.Sequential):
    """Sub-pixel upsampling: per stage, conv to ``r*r*n_feats`` channels then PixelShuffle(r).

    Powers of two use repeated x2 stages (x4 = two, x8 = three), x3 a single x3 stage.
    Layer indices (convs at 0, 2, 4) match EDSR-PyTorch's ``tail.0``.
    """

    def __init__(self, scale: int, n_feats: int, kernel_size: int = 3) -> None:
        layers: list[nn.Module] = []
        for r in upsampler_stages(scale):
            layers.append(conv3x3(n_feats, r * r * n_feats, kernel_size))
            layers.append(nn.PixelShuffle(r))
        super().__init__(*layers)


class ChannelAttention(nn.Module):
    """RCAN channel attention (squeeze-and-excitation): rescale each channel by a gate
    computed from its global average, through a ``channels // reduction`` bottleneck."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(self.avg_pool(x))


class RCAB(nn.Module):
    """Residual channel attention block: conv-ReLU-conv-channel attention, plus identity."""

    def __init__(self, n_feats: int, kernel_size: int = 3, reduction: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(n_feats, n_feats, kernel_size),
            nn.ReLU(inplace=True),
            conv3x3(n_feats, n_feats, kernel_size),
            ChannelAttention(n_feats, reduction),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.body(x)
        res += x  # in place is autograd-safe: the attention product keeps its own inputs
        return res


class PixelAttention(nn.Module):
    """PAN pixel attention: a 1x1 conv and sigmoid give one gate per channel *and* pixel
    (a C x H x W map), unlike channel attention's C x 1 x 1."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.conv(x))
