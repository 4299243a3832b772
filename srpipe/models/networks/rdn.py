"""RDN (Zhang et al., "Residual Dense Network for Image Super-Resolution", CVPR 2018,
arXiv:1802.08797).

Dense learning: D residual dense blocks, each C densely connected conv+ReLU layers of
growth G, a 1x1 local feature fusion and a local skip; global feature fusion of all
block outputs and a global skip; pixel-shuffle upsampling. Paper: D=16, C=8, G=64,
G0=64: 22.1M parameters at x2, 22.3M at x3, 22.3M at x4. Scales x2, x3, x4, x8.

Module names equal EDSR-PyTorch's RDN (``SFENet1``, ``RDBs.N.convs.M.conv.0``, ``LFF``,
``GFF``, ``UPNet``) so its checkpoints load as they are.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.blocks import conv3x3, upsampler_stages


class DenseLayer(nn.Module):
    """conv+ReLU whose output is concatenated to its input (the dense connection)."""

    def __init__(self, in_channels: int, growth: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Sequential(conv3x3(in_channels, growth, kernel_size), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.conv(x)), dim=1)


class ResidualDenseBlock(nn.Module):
    """C dense layers, 1x1 local feature fusion back to G0 channels, local residual."""

    def __init__(self, g0: int, growth: int, n_layers: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            *(DenseLayer(g0 + c * growth, growth, kernel_size) for c in range(n_layers))
        )
        self.LFF = nn.Conv2d(g0 + n_layers * growth, g0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LFF(self.convs(x)) + x


class RDN(nn.Module):
    """RDN mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale)."""

    def __init__(
        self,
        scale: int = 4,
        G0: int = 64,
        D: int = 16,
        C: int = 8,
        G: int = 64,
        kernel_size: int = 3,
        n_colors: int = 3,
        rgb_range: float = 255.0,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.rgb_range = float(rgb_range)
        self.SFENet1 = conv3x3(n_colors, G0, kernel_size)
        self.SFENet2 = conv3x3(G0, G0, kernel_size)
        self.RDBs = nn.ModuleList(ResidualDenseBlock(G0, G, C, kernel_size) for _ in range(D))
        self.GFF = nn.Sequential(nn.Conv2d(D * G0, G0, 1), conv3x3(G0, G0, kernel_size))
        layers: list[nn.Module] = []
        channels = G0
        for r in upsampler_stages(scale):
            layers += [conv3x3(channels, G * r * r, kernel_size), nn.PixelShuffle(r)]
            channels = G
        layers.append(conv3x3(channels, n_colors, kernel_size))
        self.UPNet = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.SFENet1(x * self.rgb_range)
        x = self.SFENet2(shallow)
        outputs = []
        for block in self.RDBs:
            x = block(x)
            outputs.append(x)
        x = self.GFF(torch.cat(outputs, dim=1)) + shallow
        return self.UPNet(x) / self.rgb_range
