"""SAN (Dai et al., "Second-order Attention Network for Single Image Super-Resolution",
CVPR 2019).

RCAN-like residual groups with two changes:

* second-order channel attention (SOCA): the channel gate comes from the *covariance*
  of the features (C x C, over the pixels), normalised by its matrix square root, instead
  of their mean. The square root is computed by the Newton-Schulz iteration (5 steps,
  after dividing by the trace and rescaling by its root afterwards), which needs only
  matrix products and so trains on a GPU where an eigendecomposition would be slow;
* the non-locally enhanced residual group (NLRG): a region-level non-local block (an
  embedded-Gaussian self-attention run on each quadrant of the feature map separately,
  keys and values 2x2 max-pooled)
  at the start and the end of the body, and a *shared-source* skip: every local-source
  residual attention group (LSRAG) adds ``gamma`` times the body's input to its output.

Paper: 20 LSRAGs x 10 residual blocks, 64 features, reduction 16: 15.82M parameters at x4
(the paper: 15.7M), 15.67M at x2, 15.86M at x3. Scales x2, x3, x4, x8.

Module names equal the official code's (daitao/SAN ``san.py``: ``RG.G.rcab.B.conv_first``,
``RG.G.soca.conv_du``, ``non_local.non_local.{g,theta,phi,W}``, ``head``, ``tail``) so its
checkpoints load; the three modules the official code builds but never runs
(``conv_last``, ``RG.G.gamma``, ``non_local.soca``) are left out here and their keys
dropped on import.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.models.blocks import DIV2K_RGB_MEAN, MeanShift, Upsampler, conv3x3

#: SOCA computes the covariance over at most this many pixels per side (a centre crop),
#: as the official code does to bound the C x (h*w) products on large inputs
SOCA_MAX_SIDE = 1000


def covariance(x: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) -> (N, C, C): channel covariance over the h*w pixels (1/M normalised)."""
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    centred = flat - flat.mean(dim=2, keepdim=True)
    return centred @ centred.transpose(1, 2) / (h * w)


def sqrtm_newton_schulz(a: torch.Tensor, iterations: int = 5) -> torch.Tensor:
    """Square root of symmetric PSD matrices (N, C, C) by the coupled Newton-Schulz iteration.

    Converges only for ||I - A|| < 1, hence the pre-normalisation by the trace and the
    post-compensation by its square root.
    """
    n, c, _ = a.shape
    trace = a.diagonal(dim1=1, dim2=2).sum(dim=1).view(n, 1, 1)
    y = a / trace
    eye3 = 3.0 * torch.eye(c, dtype=a.dtype, device=a.device).expand(n, c, c)
    z = torch.eye(c, dtype=a.dtype, device=a.device).expand(n, c, c)
    for k in range(iterations):
        t = 0.5 * (eye3 - z @ y)
        y, z = y @ t, (t @ z if k < iterations - 1 else z)
    return y * trace.sqrt()


class SOCA(nn.Module):
    """Second-order channel attention: gate = MLP(mean of rows of sqrt(covariance))."""

    def __init__(self, channels: int, reduction: int = 16, iterations: int = 5) -> None:
        super().__init__()
        self.iterations = iterations
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        top, left = max(0, (h - SOCA_MAX_SIDE) // 2), max(0, (w - SOCA_MAX_SIDE) // 2)
        sub = x[:, :, top : top + SOCA_MAX_SIDE, left : left + SOCA_MAX_SIDE]
        # the covariance and its root are computed in fp32: Newton-Schulz is unstable in fp16
        root = sqrtm_newton_schulz(covariance(sub.float()), self.iterations)
        stats = root.mean(dim=1).view(n, c, 1, 1).to(x.dtype)
        return x * self.conv_du(stats)


class NonLocal(nn.Module):
    """Embedded-Gaussian non-local block: softmax(theta^T phi) g, 1x1 back, plus the input.

    The keys and values (``phi``, ``g``) are 2x2 max-pooled, as in the released code (its
    ``sub_sample=False`` is overridden inside the 2-D case), a quarter of the attention cost.
    """

    def __init__(self, channels: int, inter: int) -> None:
        super().__init__()
        self.inter = inter
        self.g = nn.Sequential(nn.Conv2d(channels, inter, 1), nn.MaxPool2d(2))
        self.theta = nn.Conv2d(channels, inter, 1)
        self.phi = nn.Sequential(nn.Conv2d(channels, inter, 1), nn.MaxPool2d(2))
        self.W = nn.Conv2d(inter, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        g = self.g(x).flatten(2).transpose(1, 2)
        theta = self.theta(x).flatten(2).transpose(1, 2)
        phi = self.phi(x).flatten(2)
        y = torch.softmax(theta @ phi, dim=-1) @ g
        return self.W(y.transpose(1, 2).reshape(n, self.inter, h, w)) + x


class RegionNonLocal(nn.Module):
    """The non-local block run on each quadrant on its own (region-level: memory stays
    quadratic in a quarter of the pixels)."""

    def __init__(self, channels: int, inter: int) -> None:
        super().__init__()
        self.non_local = NonLocal(channels, inter)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h2, w2 = x.shape[2] // 2, x.shape[3] // 2
        top = torch.cat(
            (self.non_local(x[:, :, :h2, :w2]), self.non_local(x[:, :, :h2, w2:])), dim=3
        )
        bottom = torch.cat(
            (self.non_local(x[:, :, h2:, :w2]), self.non_local(x[:, :, h2:, w2:])), dim=3
        )
        return torch.cat((top, bottom), dim=2)


class ResidualBlock(nn.Module):
    """conv-ReLU-conv plus identity (SAN's RB: no attention inside the block)."""

    def __init__(self, n_feats: int) -> None:
        super().__init__()
        self.conv_first = nn.Sequential(
            conv3x3(n_feats, n_feats), nn.ReLU(inplace=True), conv3x3(n_feats, n_feats)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_first(x) + x


class LSRAG(nn.Module):
    """Local-source residual attention group: residual blocks, SOCA, a conv, a local skip."""

    def __init__(self, n_feats: int, n_resblocks: int, reduction: int) -> None:
        super().__init__()
        self.rcab = nn.ModuleList(ResidualBlock(n_feats) for _ in range(n_resblocks))
        self.soca = SOCA(n_feats, reduction)
        self.conv_last = conv3x3(n_feats, n_feats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x
        for block in self.rcab:
            res = block(res)
        return self.conv_last(self.soca(res)) + x


class SAN(nn.Module):
    """SAN mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale)."""

    def __init__(
        self,
        scale: int = 4,
        n_resgroups: int = 20,
        n_resblocks: int = 10,
        n_feats: int = 64,
        reduction: int = 16,
        rgb_range: float = 255.0,
        n_colors: int = 3,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.rgb_range = float(rgb_range)
        self.sub_mean = MeanShift(rgb_range, DIV2K_RGB_MEAN, sign=-1)
        self.head = nn.Sequential(conv3x3(n_colors, n_feats))
        # one non-local module, used at both ends of the body (as the official code)
        self.non_local = RegionNonLocal(n_feats, n_feats // 8)
        self.RG = nn.ModuleList(LSRAG(n_feats, n_resblocks, reduction) for _ in range(n_resgroups))
        self.gamma = nn.Parameter(torch.zeros(1))  # shared-source skip weight, learnt from 0
        self.tail = nn.Sequential(Upsampler(scale, n_feats), conv3x3(n_feats, n_colors))
        self.add_mean = MeanShift(rgb_range, DIV2K_RGB_MEAN, sign=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x * self.rgb_range))
        source = self.non_local(x)
        res = source
        for group in self.RG:
            res = group(res) + self.gamma * source
        res = self.non_local(res) + x
        return self.add_mean(self.tail(res)) / self.rgb_range
