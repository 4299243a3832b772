"""PAN (Zhao et al., "Efficient Image Super-Resolution Using Pixel Attention", ECCV
Workshops 2020, arXiv:2010.01073).

Pixel attention (a 1x1 conv + sigmoid giving a C x H x W gate) in two places: inside
each self-calibrated block (SC-PA: one branch plain 3x3, the other a pixel-attention
conv) and after each upsampling stage (U-PA: nearest-neighbour upsampling, conv, PA,
conv). The network adds its output to a bilinear upscale of the input. Paper: 40
features, 24 in the upsampler, 16 SC-PA blocks: 261K parameters at x2, 272K at x4.
Scales x2, x3, x4, x8 (x4 = two x2 stages, x8 = three).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srpipe.models.blocks import PixelAttention, conv3x3, upsampler_stages


class PAConv(nn.Module):
    """3x3 conv gated by pixel attention computed from the same input, then a 3x3 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gate = nn.Conv2d(channels, channels, 1)
        self.conv = conv3x3(channels, channels, bias=False)
        self.out = conv3x3(channels, channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv(x) * torch.sigmoid(self.gate(x)))


class SCPA(nn.Module):
    """Self-calibrated block with pixel attention: two half-width branches, 1x1 fusion, skip."""

    def __init__(self, n_feats: int, reduction: int = 2) -> None:
        super().__init__()
        width = n_feats // reduction
        self.split_a = nn.Conv2d(n_feats, width, 1, bias=False)
        self.split_b = nn.Conv2d(n_feats, width, 1, bias=False)
        self.conv_a = conv3x3(width, width, bias=False)
        self.pa_conv = PAConv(width)
        self.fuse = nn.Conv2d(width * 2, n_feats, 1, bias=False)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.act(self.conv_a(self.act(self.split_a(x))))
        b = self.act(self.pa_conv(self.act(self.split_b(x))))
        return self.fuse(torch.cat((a, b), dim=1)) + x


class PAN(nn.Module):
    """PAN mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale)."""

    def __init__(
        self,
        scale: int = 4,
        n_feats: int = 40,
        n_up_feats: int = 24,
        n_blocks: int = 16,
        n_colors: int = 3,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.head = conv3x3(n_colors, n_feats)
        self.body = nn.Sequential(*(SCPA(n_feats) for _ in range(n_blocks)))
        self.body_conv = conv3x3(n_feats, n_feats)
        self.stages = upsampler_stages(scale)
        self.up_convs = nn.ModuleList()
        self.up_attention = nn.ModuleList()
        self.up_refine = nn.ModuleList()
        channels = n_feats
        for _ in self.stages:
            self.up_convs.append(conv3x3(channels, n_up_feats))
            self.up_attention.append(PixelAttention(n_up_feats))
            self.up_refine.append(conv3x3(n_up_feats, n_up_feats))
            channels = n_up_feats
        self.tail = conv3x3(n_up_feats, n_colors)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        feat = feat + self.body_conv(self.body(feat))
        for r, conv, attention, refine in zip(
            self.stages, self.up_convs, self.up_attention, self.up_refine, strict=True
        ):
            feat = conv(F.interpolate(feat, scale_factor=r, mode="nearest"))
            feat = self.act(refine(self.act(attention(feat))))
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return self.tail(feat) + base
