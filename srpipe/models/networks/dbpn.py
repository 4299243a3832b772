"""D-DBPN (Haris et al., "Deep Back-Projection Networks for Super-Resolution", CVPR 2018,
arXiv:1803.02735).

Iterative up- and down-projection units: an up unit maps LR features to HR with a
transposed convolution, projects back to LR with a strided convolution, and corrects its
HR output with the back-projected error (``h1 + h0``); a down unit does the mirror. The
*dense* DBPN feeds each unit the concatenation of all earlier units of the other kind
(through a 1x1 convolution). The HR outputs of all up units are concatenated for the
reconstruction convolution. PReLU everywhere, no global skip.

Paper: 7 up and 6 down units, 64 projection features, 256 initial features, 8x8
kernels at x4: 10.43M parameters at x4 (the paper: 10.4M), 5.95M at x2 (6x6 kernels),
23.2M at x8 (12x12). x3 (7x7 kernels, stride 3) is not in the paper; it is the setting the
SRFBN authors use for the same projection. Scales x2, x3, x4, x8.

Module names equal the official code's (alterzero/DBPN-Pytorch ``dbpn.py``:
``feat0.conv``, ``up1.up_conv1.deconv``, ``down2.conv.conv``, ``output_conv.conv``,
``*.act``) so its checkpoints (``DBPN_x4.pth``) load as they are. Inputs and outputs in
[0, 1], as the official code's.
"""

from __future__ import annotations

import torch
from torch import nn

#: scale -> (kernel, stride, padding) of the projection convolutions
PROJECTION = {2: (6, 2, 2), 3: (7, 3, 2), 4: (8, 4, 2), 8: (12, 8, 2)}


class ConvAct(nn.Module):
    """A convolution (or transposed one) followed by PReLU; ``act=False`` leaves it out."""

    def __init__(self, layer: nn.Module, act: bool = True, transposed: bool = False) -> None:
        super().__init__()
        if transposed:
            self.deconv = layer
        else:
            self.conv = layer
        self.act = nn.PReLU() if act else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.deconv(x) if hasattr(self, "deconv") else self.conv(x)
        return self.act(x) if self.act is not None else x


def _conv(n: int, kernel: int, stride: int, padding: int) -> ConvAct:
    return ConvAct(nn.Conv2d(n, n, kernel, stride, padding))


def _deconv(n: int, kernel: int, stride: int, padding: int) -> ConvAct:
    return ConvAct(nn.ConvTranspose2d(n, n, kernel, stride, padding), transposed=True)


class UpProjection(nn.Module):
    """LR -> HR: h0 = up(l); back-project l0 = down(h0); correct with up(l0 - l)."""

    def __init__(self, n: int, kernel: int, stride: int, padding: int, n_inputs: int = 1):
        super().__init__()
        if n_inputs > 1:  # dense: fuse all earlier LR outputs first
            self.conv = ConvAct(nn.Conv2d(n * n_inputs, n, 1))
        self.up_conv1 = _deconv(n, kernel, stride, padding)
        self.up_conv2 = _conv(n, kernel, stride, padding)
        self.up_conv3 = _deconv(n, kernel, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "conv"):
            x = self.conv(x)
        h0 = self.up_conv1(x)
        return self.up_conv3(self.up_conv2(h0) - x) + h0


class DownProjection(nn.Module):
    """HR -> LR: l0 = down(h); project up h0 = up(l0); correct with down(h0 - h)."""

    def __init__(self, n: int, kernel: int, stride: int, padding: int, n_inputs: int = 1):
        super().__init__()
        if n_inputs > 1:
            self.conv = ConvAct(nn.Conv2d(n * n_inputs, n, 1))
        self.down_conv1 = _conv(n, kernel, stride, padding)
        self.down_conv2 = _deconv(n, kernel, stride, padding)
        self.down_conv3 = _conv(n, kernel, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "conv"):
            x = self.conv(x)
        l0 = self.down_conv1(x)
        return self.down_conv3(self.down_conv2(l0) - x) + l0


class DBPN(nn.Module):
    """D-DBPN mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale).

    The units are attributes ``up1..up{n_stages}`` and ``down1..down{n_stages-1}``, as in
    the official code (so the state-dict keys match it).
    """

    def __init__(
        self,
        scale: int = 4,
        n_stages: int = 7,
        base_filter: int = 64,
        feat: int = 256,
        n_colors: int = 3,
    ) -> None:
        super().__init__()
        if scale not in PROJECTION:
            raise ValueError(f"D-DBPN supports x2, x3, x4, x8, not x{scale}")
        if n_stages < 2:
            raise ValueError("D-DBPN needs at least 2 stages (up1, down1, up2)")
        self.scale = scale
        self.n_stages = n_stages
        k = PROJECTION[scale]
        self.feat0 = ConvAct(nn.Conv2d(n_colors, feat, 3, 1, 1))
        self.feat1 = ConvAct(nn.Conv2d(feat, base_filter, 1))
        self.up1 = UpProjection(base_filter, *k)
        self.down1 = DownProjection(base_filter, *k)
        self.up2 = UpProjection(base_filter, *k)
        for i in range(2, n_stages):
            setattr(self, f"down{i}", DownProjection(base_filter, *k, n_inputs=i))
            setattr(self, f"up{i + 1}", UpProjection(base_filter, *k, n_inputs=i))
        self.output_conv = ConvAct(nn.Conv2d(n_stages * base_filter, n_colors, 3, 1, 1), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.feat1(self.feat0(x))
        h1 = self.up1(x)
        l1 = self.down1(h1)
        # newest first, as the official code concatenates (the 1x1 convs' weights follow it)
        highs = torch.cat((self.up2(l1), h1), dim=1)
        lows = l1
        for i in range(2, self.n_stages):
            lows = torch.cat((getattr(self, f"down{i}")(highs), lows), dim=1)
            highs = torch.cat((getattr(self, f"up{i + 1}")(lows), highs), dim=1)
        return self.output_conv(highs)
