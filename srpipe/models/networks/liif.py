"""LIIF, the Local Implicit Image Function (Chen, Liu and Wang, "Learning Continuous Image
Representation with Local Implicit Image Function", CVPR 2021, arXiv:2012.09161).

An encoder (EDSR-baseline without its upsampler) turns the LR image into a feature map;
an MLP decodes the RGB value at *any* continuous coordinate from the nearest feature
vector, so one model serves every scale, integer or not. The paper's three refinements,
each a named argument here:

* feature unfolding: each feature vector is concatenated with its 3x3 neighbourhood;
* local ensemble: the prediction blends the four nearest feature vectors, each weighted by
  the area of the rectangle between the query and the diagonally opposite one;
* cell decoding: the MLP also sees the size of the output pixel, so it knows the scale.

EDSR-baseline-LIIF: 1.220M encoder + 0.347M MLP (256 x 4 hidden) = 1.567M parameters at
every scale. Module names equal the official code's (``encoder.head.0``,
``encoder.body.N.body.{0,2}``, ``imnet.layers.{0,2,4,6,8}``), so its checkpoint loads
once its unused mean-shift layers are dropped.

Decoding is computed differently from the official code but gives the same numbers: the
MLP's first layer is split by input. Its feature part is a 3x3 convolution over the LR
feature map (unfold + linear), evaluated once per LR pixel instead of once per query, and
its coordinate and cell parts are per-row and per-column terms, because the queries of a
regular output grid share rows and columns. Queries run in bands of output rows
(``query_chunk`` queries at a time), so memory stays bounded at any output size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from srpipe.image.resize import output_length
from srpipe.models.blocks import ResBlock, conv3x3

#: Shift that keeps a query on one side of a feature-cell border (the official value).
_EPS_SHIFT = 1e-6
#: Keeps shifted queries inside the image (the official value).
_BORDER = 1e-6


def output_size(length: int, scale: float) -> int:
    """Output pixels for ``length`` input pixels at ``scale``: MATLAB imresize's
    ``ceil(length * scale)``, so LIIF and the classic interpolators agree at any scale."""
    return output_length(length, scale)


def pixel_centres(n: int) -> torch.Tensor:
    """Centres of ``n`` pixels spanning [-1, 1] (float32), the coordinates LIIF was trained on."""
    r = 1.0 / n
    return (-1.0 + r) + (2.0 * r) * torch.arange(n, dtype=torch.float32)


class EDSRFeatures(nn.Module):
    """EDSR-baseline's head and body (with its global skip) and no upsampling tail."""

    def __init__(
        self, n_resblocks: int = 16, n_feats: int = 64, res_scale: float = 1.0, n_colors: int = 3
    ) -> None:
        super().__init__()
        self.out_dim = n_feats
        self.head = nn.Sequential(conv3x3(n_colors, n_feats))
        self.body = nn.Sequential(
            *(ResBlock(n_feats, 3, res_scale) for _ in range(n_resblocks)),
            conv3x3(n_feats, n_feats),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        res = self.body(x)
        res += x
        return res


class MLP(nn.Module):
    """Linear-ReLU layers, then a linear output (under ``layers``, as officially named)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: Sequence[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class LIIF(nn.Module):
    """LIIF mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, H, W) at any ``scale >= 1``.

    ``H, W`` are ``ceil(h * scale), ceil(w * scale)``, or the ``size`` given to
    :meth:`forward`. The official model normalises its input and output as
    ``(x - input_mean) / input_std``; the mean-shift layers of its EDSR encoder are unused.
    """

    def __init__(
        self,
        scale: float = 4.0,
        n_resblocks: int = 16,
        n_feats: int = 64,
        res_scale: float = 1.0,
        hidden: Sequence[int] = (256, 256, 256, 256),
        feat_unfold: bool = True,
        local_ensemble: bool = True,
        cell_decode: bool = True,
        input_mean: float = 0.5,
        input_std: float = 0.5,
        query_chunk: int = 65536,
        n_colors: int = 3,
    ) -> None:
        super().__init__()
        if not scale >= 1:
            raise ValueError(f"LIIF upscales: scale must be >= 1, got {scale}")
        self.scale = float(scale)
        self.feat_unfold = feat_unfold
        self.local_ensemble = local_ensemble
        self.cell_decode = cell_decode
        self.input_mean = float(input_mean)
        self.input_std = float(input_std)
        self.query_chunk = int(query_chunk)
        self.encoder = EDSRFeatures(n_resblocks, n_feats, res_scale, n_colors)
        in_dim = n_feats * (9 if feat_unfold else 1) + 2 + (2 if cell_decode else 0)
        self.imnet = MLP(in_dim, n_colors, hidden)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        height, width = x.shape[-2:]
        if size is None:
            size = (output_size(height, self.scale), output_size(width, self.scale))
        feat = self.encoder((x - self.input_mean) / self.input_std)
        return self.decode(feat, *size) * self.input_std + self.input_mean

    def decode(self, feat: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
        """RGB (normalised) at the pixel centres of an ``out_h x out_w`` grid over ``feat``."""
        batch, channels, h, w = feat.shape
        first = self.imnet.layers[0]
        cf = channels * (9 if self.feat_unfold else 1)
        k = 3 if self.feat_unfold else 1
        weight = first.weight.to(feat.dtype)
        # feature part of the first layer as a conv over LR features: (B, h, w, D)
        lr_term = F.conv2d(
            feat,
            weight[:, :cf].reshape(-1, channels, k, k),
            first.bias.to(feat.dtype),
            padding=k // 2,
        ).permute(0, 2, 3, 1)
        w_rel_y, w_rel_x = weight[:, cf], weight[:, cf + 1]
        cell_term = torch.zeros_like(w_rel_y)
        if self.cell_decode:
            # the output pixel's size in feature-cell units (2/H of [-1, 1], times h)
            cell_term = weight[:, cf + 2] * (2.0 / out_h * h) + weight[:, cf + 3] * (
                2.0 / out_w * w
            )

        device = feat.device
        ys, xs = pixel_centres(out_h).to(device), pixel_centres(out_w).to(device)
        shifts = (-1, 1) if self.local_ensemble else (0,)
        eps = _EPS_SHIFT if self.local_ensemble else 0.0
        # per shift: nearest feature index and relative coordinate of every row / column
        rows = [self._nearest(ys, h, s, eps) for s in shifts]
        cols = [self._nearest(xs, w, s, eps) for s in shifts]
        col_terms = [rel.to(feat.dtype)[:, None] * w_rel_x + cell_term for _, rel in cols]

        out = feat.new_empty(batch, out_h, out_w, self.imnet.layers[-1].out_features)
        band = max(1, self.query_chunk // max(1, out_w))
        for top in range(0, out_h, band):
            bottom = min(out_h, top + band)
            preds, areas = [], []
            for iy, rel_y in rows:
                picked = lr_term.index_select(1, iy[top:bottom])
                row_term = rel_y[top:bottom].to(feat.dtype)[:, None, None] * w_rel_y
                for (ix, rel_x), col_term in zip(cols, col_terms):
                    hidden = picked.index_select(2, ix) + row_term + col_term
                    preds.append(self.imnet.layers[2:](torch.relu(hidden)))
                    areas.append((rel_y[top:bottom, None] * rel_x[None, :]).abs() + 1e-9)
            if len(preds) == 1:
                out[:, top:bottom] = preds[0]
                continue
            total = torch.stack(areas).sum(0)
            # each prediction is weighted by the area facing it: the opposite corner's
            blended = sum(
                p * (a / total).to(p.dtype)[None, :, :, None]
                for p, a in zip(preds, reversed(areas))
            )
            out[:, top:bottom] = blended
        return out.permute(0, 3, 1, 2)

    @staticmethod
    def _nearest(
        centres: torch.Tensor, n: int, shift: int, eps: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Index of the feature cell nearest to each query moved by ``shift`` cells, and the
        query's offset from that cell's centre in cell units."""
        moved = (centres + (shift * (1.0 / n) + eps)).clamp_(-1 + _BORDER, 1 - _BORDER)
        # nearest cell centre: round half to even, as grid_sample(mode="nearest") does
        index = torch.round(((moved + 1) * n - 1) / 2).long().clamp_(0, n - 1)
        cell_centre = pixel_centres(n).to(centres.device)[index]
        return index, (centres - cell_centre) * n
