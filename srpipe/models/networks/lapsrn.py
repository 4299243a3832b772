"""LapSRN (Lai et al., "Deep Laplacian Pyramid Networks for Fast and Accurate
Super-Resolution", CVPR 2017, arXiv:1704.03915).

Progressive reconstruction on a Laplacian pyramid, one x2 level at a time, from the LR
Y channel (no bicubic pre-upsampling):

* feature branch, per level: ``depth`` 3x3 convolutions with LeakyReLU(0.2) and a
  stride-2 transposed convolution to the next level's size;
* image branch, per level: a 4x4 stride-2 transposed convolution (bilinear at
  initialisation) upsamples the previous level's image, and a convolution of the
  upsampled features adds the predicted high-frequency residual (the sub-band).

Each level's image is an output: x4 gives its x2 image too (:meth:`LapSRN.pyramid`), and
the paper supervises every level (Charbonnier loss against the HR image bicubic-downscaled
to that level): ``deep_supervision=True`` makes the training-mode forward return the
list. Layout as the authors' MatConvNet release (depth 10, 64 features, 3x3 kernels).
Parameters: 407,441 at x2, 814,242 at x4 (the paper: 812K), 1,221,043 at x8. Scales
x2, x4, x8 (a pyramid of x2 levels; the paper has no x3).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from srpipe.models.networks.luma import LumaSR, bicubic_upscale


def bilinear_kernel(size: int) -> torch.Tensor:
    """The size x size bilinear upsampling filter (the image branch's initial weights)."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = torch.arange(size, dtype=torch.float32)
    line = 1 - (og - center).abs() / factor
    return line[:, None] * line[None, :]


class PyramidLevel(nn.Module):
    """One x2 level: features -> upsampled features, and the residual they predict."""

    def __init__(self, n_feats: int, depth: int, n_colors: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Conv2d(n_feats, n_feats, 3, padding=1), nn.LeakyReLU(0.2, True)]
        self.convs = nn.Sequential(*layers)
        # MatConvNet's 3x3 "upsample 2, crop [0 1 0 1]": full transposed conv (2h+1), then
        # drop the last row and column
        self.up = nn.ConvTranspose2d(n_feats, n_feats, 3, stride=2)
        self.act = nn.LeakyReLU(0.2, True)
        self.residual = nn.Conv2d(n_feats, n_colors, 3, padding=1)
        self.image_up = nn.ConvTranspose2d(
            n_colors, n_colors, 4, stride=2, padding=1, groups=n_colors, bias=False
        )
        with torch.no_grad():
            self.image_up.weight.copy_(bilinear_kernel(4).expand_as(self.image_up.weight))

    def forward(
        self, features: torch.Tensor, image: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.act(self.up(self.convs(features))[..., :-1, :-1])
        return features, self.image_up(image) + self.residual(features)


class LapSRN(LumaSR):
    """LapSRN on LR Y (``n_colors=1``, the paper) or RGB; one level per factor of two."""

    def __init__(
        self,
        scale: int = 4,
        n_colors: int = 1,
        n_feats: int = 64,
        depth: int = 10,
        deep_supervision: bool = False,
    ) -> None:
        super().__init__(scale, n_colors)
        n_levels = round(math.log2(scale)) if scale >= 2 else 0
        if scale < 2 or 2**n_levels != scale:
            raise ValueError(f"LapSRN upscales by powers of two (x2, x4, x8), not x{scale}")
        self.deep_supervision = deep_supervision
        self.input_conv = nn.Sequential(
            nn.Conv2d(n_colors, n_feats, 3, padding=1), nn.LeakyReLU(0.2, True)
        )
        self.levels = nn.ModuleList(PyramidLevel(n_feats, depth, n_colors) for _ in range(n_levels))

    def restore_levels(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The network's image at every level (x2, x4, ...) in its own channels."""
        features, image = self.input_conv(x), x
        images = []
        for level in self.levels:
            features, image = level(features, image)
            images.append(image)
        return images

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        return self.restore_levels(x)[-1]

    def pyramid(self, x: torch.Tensor) -> list[torch.Tensor]:
        """RGB images at x2, x4, ... up to ``scale`` (chroma by MATLAB bicubic on Y models)."""
        if self.n_colors == 3:
            return self.restore_levels(x)
        ycc = torch.einsum("ij,njhw->nihw", self.rgb_to_ycbcr, x) + self.offset
        out = []
        for k, y in enumerate(self.restore_levels(ycc[:, :1]), start=1):
            chroma = bicubic_upscale(ycc[:, 1:], 2**k)
            ycc_out = torch.cat([y, chroma], dim=1) - self.offset
            out.append(torch.einsum("ij,njhw->nihw", self.ycbcr_to_rgb, ycc_out))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        if self.training and self.deep_supervision:
            return self.pyramid(x)
        return super().forward(x)
