"""DRRN (Tai et al., "Image Super-Resolution via Deep Recursive Residual Network",
CVPR 2017).

The seed's *recursive* structure: a recursive block is an entry convolution followed by
U residual units that all use the **same** two convolutions (weights shared across the
recursion), each unit's output being added to the entry convolution's (multi-path local
residual learning, H_u = F(H_{u-1}) + H_0). B such blocks, an output convolution and a
global residual over the bicubic-upscaled input (a pre-upsampling model like VDSR, on Y).
Units are pre-activation (ReLU before each convolution).

Paper: B1U25 (one block, 25 units, 52 layers deep), 128 features: 297,601 parameters at
every scale (the paper: 297K). The Caffe release's batch normalisation is left out, as
in the common PyTorch re-implementations; the count is the convolutions'. Scales x2, x3,
x4, x8 (one network serves every scale in the paper).
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.blocks import conv3x3
from srpipe.models.networks.luma import LumaSR


class DRRN(LumaSR):
    """DRRN on bicubic-upscaled Y (``n_colors=1``, the paper) or RGB."""

    pre_upsample = True

    def __init__(
        self,
        scale: int = 4,
        n_colors: int = 1,
        n_blocks: int = 1,
        n_units: int = 25,
        n_feats: int = 128,
    ) -> None:
        super().__init__(scale, n_colors)
        self.n_units = n_units
        # block b's entry conv; blocks after the first see features, so pre-activate them
        self.entries = nn.ModuleList(
            conv3x3(n_colors, n_feats)
            if b == 0
            else nn.Sequential(nn.ReLU(inplace=False), conv3x3(n_feats, n_feats))
            for b in range(n_blocks)
        )
        # one residual unit per block, applied n_units times: the shared weights
        self.units = nn.ModuleList(
            nn.Sequential(
                nn.ReLU(inplace=False),
                conv3x3(n_feats, n_feats),
                nn.ReLU(inplace=True),
                conv3x3(n_feats, n_feats),
            )
            for _ in range(n_blocks)
        )
        self.reconstruct = nn.Sequential(nn.ReLU(inplace=False), conv3x3(n_feats, n_colors))

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        feat = x
        for entry, unit in zip(self.entries, self.units, strict=True):
            h0 = entry(feat)
            feat = h0
            for _ in range(self.n_units):
                feat = unit(feat) + h0
        return x + self.reconstruct(feat)
