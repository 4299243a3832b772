"""MemNet (Tai et al., "MemNet: A Persistent Memory Network for Image Restoration",
ICCV 2017).

A pre-upsampling model (like VDSR, on the bicubic-upscaled Y): a feature extraction
convolution, M memory blocks and a reconstruction net. Each memory block has

* a recursive unit: one residual block (ReLU-conv-ReLU-conv) applied R times with the
  same weights; its R outputs are the block's *short-term memory*;
* a gate unit: a 1x1 convolution over the short-term memory concatenated with the
  outputs of all earlier blocks (and of the feature extractor), the *long-term memory*,
  deciding how much of each to keep.

Every block's output is reconstructed (shared ReLU-conv, plus the input: global
residual); the final image is their weighted sum with M learned weights (the paper's
multi-supervised MemNet). Units are pre-activation; the paper's batch normalisation is
left out (the count is the convolutions'). Paper: M6R6 (80 layers), 64 features:
678,215 parameters at every scale (the paper: 677K). Scales x2, x3, x4, x8.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.blocks import conv3x3
from srpipe.models.networks.luma import LumaSR


def _pre_act_conv(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(inplace=False), conv3x3(in_channels, out_channels, kernel_size))


class MemoryBlock(nn.Module):
    """Recursive unit (one residual block, R times) and a gate over short + long memory."""

    def __init__(self, n_feats: int, n_recursions: int, n_earlier: int) -> None:
        super().__init__()
        self.n_recursions = n_recursions
        self.residual = nn.Sequential(
            _pre_act_conv(n_feats, n_feats), _pre_act_conv(n_feats, n_feats)
        )
        self.gate = _pre_act_conv((n_recursions + n_earlier) * n_feats, n_feats, kernel_size=1)

    def forward(self, x: torch.Tensor, long_term: list[torch.Tensor]) -> torch.Tensor:
        short_term = []
        for _ in range(self.n_recursions):
            x = self.residual(x) + x
            short_term.append(x)
        return self.gate(torch.cat(short_term + long_term, dim=1))


class MemNet(LumaSR):
    """MemNet on bicubic-upscaled Y (``n_colors=1``, the paper) or RGB."""

    pre_upsample = True

    def __init__(
        self,
        scale: int = 4,
        n_colors: int = 1,
        n_feats: int = 64,
        n_memory_blocks: int = 6,
        n_recursions: int = 6,
    ) -> None:
        super().__init__(scale, n_colors)
        self.feature = conv3x3(n_colors, n_feats)
        # block m sees the feature extractor's output and blocks 1..m-1: m earlier outputs
        self.blocks = nn.ModuleList(
            MemoryBlock(n_feats, n_recursions, m + 1) for m in range(n_memory_blocks)
        )
        self.reconstruct = _pre_act_conv(n_feats, n_colors)
        self.weights = nn.Parameter(torch.full((n_memory_blocks,), 1.0 / n_memory_blocks))

    def predictions(self, x: torch.Tensor) -> list[torch.Tensor]:
        """One reconstruction per memory block (what multi-supervision trains)."""
        memory = [self.feature(x)]
        outputs = []
        for block in self.blocks:
            memory.append(block(memory[-1], memory.copy()))
            outputs.append(x + self.reconstruct(memory[-1]))
        return outputs

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        outputs = self.predictions(x)
        return sum(w * y for w, y in zip(self.weights, outputs, strict=True))
