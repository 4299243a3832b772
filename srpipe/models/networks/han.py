"""HAN (Niu et al., "Single Image Super-Resolution via a Holistic Attention Network",
ECCV 2020, arXiv:2008.08767).

RCAN's residual groups plus two attention forms of the seed:

* layer attention (LAM): the outputs of all groups (and the body's last conv) are
  treated as N "layers"; an N x N softmax over their correlations mixes them, so the
  network weighs hierarchical features against each other;
* channel-spatial attention (CSAM): a 3x3x3 convolution over (channel, height, width)
  of the last feature map gives a per-channel, per-pixel gate.

Their fused result replaces RCAN's plain long skip input. Paper: 10 groups x 20 RCABs,
64 features, reduction 16: 15.9M parameters at x2, 16.1M at x3 and x4. Scales x2, x3,
x4, x8. Module names equal the official code's (``la.gamma``, ``csa.conv``,
``last_conv``, ``last``, RCAN names elsewhere) so its checkpoints load as they are.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.blocks import DIV2K_RGB_MEAN
from srpipe.models.networks.rcan import RCAN


class LayerAttention(nn.Module):
    """LAM: re-weight N stacked feature maps (B, N, C, H, W) by their mutual correlation.

    ``gamma`` starts at 0, so training begins from the identity and learns how much
    cross-layer mixing to add.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c, h, w = x.shape
        flat = x.reshape(b, n, -1)
        energy = flat @ flat.transpose(1, 2)
        # subtracting from the row max (as the official code) makes the least correlated
        # layers weigh most: a softmax over "novelty" rather than similarity
        energy = energy.amax(dim=-1, keepdim=True) - energy
        mixed = torch.softmax(energy, dim=-1) @ flat
        out = self.gamma * mixed.reshape(b, n, c, h, w) + x
        return out.reshape(b, n * c, h, w)


class ChannelSpatialAttention(nn.Module):
    """CSAM: a 3-D conv over (C, H, W) and a sigmoid give one gate per channel and pixel."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, 1, 3, padding=1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.gamma * torch.sigmoid(self.conv(x.unsqueeze(1))).squeeze(1)
        return x * gate + x


class HAN(RCAN):
    """HAN mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale).

    RCAN's head, residual groups and tail (inherited), plus layer attention over the
    groups' outputs and channel-spatial attention on the last one.
    """

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
        super().__init__(
            scale,
            n_resgroups,
            n_resblocks,
            n_feats,
            reduction,
            rgb_range,
            n_colors,
            kernel_size,
            rgb_mean,
        )
        self.csa = ChannelSpatialAttention()
        self.la = LayerAttention()
        self.last_conv = nn.Conv2d(n_feats * (n_resgroups + 1), n_feats, 3, padding=1)
        self.last = nn.Conv2d(n_feats * 2, n_feats, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x * self.rgb_range))
        layers = []
        res = x
        for module in self.body:
            res = module(res)
            layers.append(res)
        # newest layer first: the order the official code stacks them in (last_conv's
        # input channels follow it, so checkpoints depend on it)
        layer_features = self.last_conv(self.la(torch.stack(layers[::-1], dim=1)))
        fused = self.last(torch.cat((self.csa(res), layer_features), dim=1)) + x
        return self.add_mean(self.tail(fused)) / self.rgb_range
