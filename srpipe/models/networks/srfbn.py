"""SRFBN (Li et al., "Feedback Network for Image Super-Resolution", CVPR 2019,
arXiv:1903.09814).

A recurrent network unrolled over ``n_steps`` steps with shared weights. At each step the
feedback block (FB) takes the LR features together with its own output of the previous
step (the *feedback*: high-level information refining low-level features), runs
``n_groups`` projection groups (up/down projections as in DBPN, densely connected through
1x1 convolutions), and its output is upsampled (transposed convolution) to a residual
over the bilinear-upscaled image. Every step yields an SR image; the paper trains all of
them (L1 on each step, weight 1: ``deep_supervision=True`` makes the training-mode
forward return the list; its curriculum of harder targets at later steps applies to
blurred/noisy degradations, not to bicubic x4) and uses the last one.

Paper: T=4 steps, G=6 groups, 64 features: 3,631,454 parameters at x4 (the paper:
3,631K), 2.14M at x2, 2.83M at x3, 7.8M at x8. Scales x2, x3, x4, x8.

Module names equal the official code's (Paper99/SRFBN_CVPR19 ``srfbn_arch.py``:
``conv_in.0``, ``block.upBlocks.G.0``, ``block.uptranBlocks.G.0``, ``out.0``,
``conv_out.0``, PReLUs at ``.1``) so its checkpoints (``SRFBN_x4_BI.pth``) load as they
are. Like the official code it works on the 0-255 range with the DIV2K mean removed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srpipe.models.blocks import DIV2K_RGB_MEAN, MeanShift

#: scale -> (kernel, stride, padding) of the projection (de)convolutions
PROJECTION = {2: (6, 2, 2), 3: (7, 3, 2), 4: (8, 4, 2), 8: (12, 8, 2)}


def _conv_prelu(layer: nn.Module) -> nn.Sequential:
    return nn.Sequential(layer, nn.PReLU(init=0.2))


class FeedbackBlock(nn.Module):
    """Fuse input and last hidden state, G dense up/down projection groups, fuse LR outputs."""

    def __init__(self, n_feats: int, n_groups: int, scale: int) -> None:
        super().__init__()
        kernel, stride, padding = PROJECTION[scale]
        self.compress_in = _conv_prelu(nn.Conv2d(2 * n_feats, n_feats, 1))
        self.upBlocks = nn.ModuleList(
            _conv_prelu(nn.ConvTranspose2d(n_feats, n_feats, kernel, stride, padding))
            for _ in range(n_groups)
        )
        self.downBlocks = nn.ModuleList(
            _conv_prelu(nn.Conv2d(n_feats, n_feats, kernel, stride, padding))
            for _ in range(n_groups)
        )
        # group g > 0 fuses the g+1 earlier LR (resp. HR) maps with a 1x1 conv
        self.uptranBlocks = nn.ModuleList(
            _conv_prelu(nn.Conv2d(n_feats * (g + 1), n_feats, 1)) for g in range(1, n_groups)
        )
        self.downtranBlocks = nn.ModuleList(
            _conv_prelu(nn.Conv2d(n_feats * (g + 1), n_feats, 1)) for g in range(1, n_groups)
        )
        self.compress_out = _conv_prelu(nn.Conv2d(n_groups * n_feats, n_feats, 1))

    def forward(self, x: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        lows = [self.compress_in(torch.cat((x, hidden), dim=1))]
        highs: list[torch.Tensor] = []
        for g, (up, down) in enumerate(zip(self.upBlocks, self.downBlocks, strict=True)):
            low = torch.cat(lows, dim=1)
            if g > 0:
                low = self.uptranBlocks[g - 1](low)
            highs.append(up(low))
            high = torch.cat(highs, dim=1)
            if g > 0:
                high = self.downtranBlocks[g - 1](high)
            lows.append(down(high))
        return self.compress_out(torch.cat(lows[1:], dim=1))


class SRFBN(nn.Module):
    """SRFBN mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale)."""

    def __init__(
        self,
        scale: int = 4,
        n_feats: int = 64,
        n_steps: int = 4,
        n_groups: int = 6,
        n_colors: int = 3,
        rgb_range: float = 255.0,
        deep_supervision: bool = False,
    ) -> None:
        super().__init__()
        if scale not in PROJECTION:
            raise ValueError(f"SRFBN supports x2, x3, x4, x8, not x{scale}")
        kernel, stride, padding = PROJECTION[scale]
        self.scale = scale
        self.n_steps = n_steps
        self.rgb_range = float(rgb_range)
        self.deep_supervision = deep_supervision
        self.sub_mean = MeanShift(rgb_range, DIV2K_RGB_MEAN, sign=-1)
        self.conv_in = _conv_prelu(nn.Conv2d(n_colors, 4 * n_feats, 3, padding=1))
        self.feat_in = _conv_prelu(nn.Conv2d(4 * n_feats, n_feats, 1))
        self.block = FeedbackBlock(n_feats, n_groups, scale)
        self.out = _conv_prelu(nn.ConvTranspose2d(n_feats, n_feats, kernel, stride, padding))
        self.conv_out = nn.Sequential(nn.Conv2d(n_feats, n_colors, 3, padding=1))
        self.add_mean = MeanShift(rgb_range, DIV2K_RGB_MEAN, sign=1)

    def steps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The SR image after every step, in [0, 1] (the last is the network's output)."""
        x = self.sub_mean(x * self.rgb_range)
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        feats = self.feat_in(self.conv_in(x))
        hidden = feats  # the first step's "feedback" is the input features themselves
        outs = []
        for _ in range(self.n_steps):
            hidden = self.block(feats, hidden)
            outs.append(self.add_mean(base + self.conv_out(self.out(hidden))) / self.rgb_range)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        outs = self.steps(x)
        return outs if self.training and self.deep_supervision else outs[-1]
