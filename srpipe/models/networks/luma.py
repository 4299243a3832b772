"""Luma-only SR, as the early papers evaluate it: restore the BT.601 Y channel with the
network, upscale Cb and Cr with MATLAB bicubic, convert back to RGB.

SRCNN, FSRCNN, ESPCN and VDSR were trained on Y only; their published parameter counts
are for one input channel. Every srpipe model maps RGB to RGB, so this base class does
the colour conversion around the network. ``n_colors=3`` runs the network on RGB instead.
"""

from __future__ import annotations

import torch
from torch import nn

from srpipe.image.resize import imresize

# BT.601 studio swing (the SR protocol's Y), on [0, 1] RGB, giving [0, 1]-scaled YCbCr
# (Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255).
_RGB_TO_YCBCR = (
    torch.tensor(
        [
            [65.481, 128.553, 24.966],
            [-37.797, -74.203, 112.0],
            [112.0, -93.786, -18.214],
        ],
        dtype=torch.float64,
    )
    / 255.0
)
_OFFSET = torch.tensor([16.0, 128.0, 128.0], dtype=torch.float64) / 255.0


def bicubic_upscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """MATLAB bicubic upscaling (the protocol's kernel, not torch's a=-0.75 one)."""

    return imresize(x, scale)


class LumaSR(nn.Module):
    """Base for networks that restore one channel: subclasses implement :meth:`restore`.

    ``pre_upsample=True`` (SRCNN, VDSR): the network sees the bicubic-upscaled Y and
    returns Y at the output size. ``False`` (FSRCNN, ESPCN): it sees the LR Y and
    upsamples itself.
    """

    pre_upsample: bool = False

    def __init__(self, scale: int, n_colors: int = 1) -> None:
        super().__init__()
        if n_colors not in (1, 3):
            raise ValueError("n_colors must be 1 (Y, as in the paper) or 3 (RGB)")
        self.scale = scale
        self.n_colors = n_colors
        self.register_buffer("rgb_to_ycbcr", _RGB_TO_YCBCR.float(), persistent=False)
        self.register_buffer(
            "ycbcr_to_rgb", torch.linalg.inv(_RGB_TO_YCBCR).float(), persistent=False
        )
        self.register_buffer("offset", _OFFSET.float().view(1, 3, 1, 1), persistent=False)

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        """Map the (upscaled or LR) input channels to the output channels at full size."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.n_colors == 3:
            return self.restore(bicubic_upscale(x, self.scale) if self.pre_upsample else x)
        ycc = torch.einsum("ij,njhw->nihw", self.rgb_to_ycbcr, x) + self.offset
        up = bicubic_upscale(ycc, self.scale)
        y = self.restore(up[:, :1] if self.pre_upsample else ycc[:, :1])
        ycc_out = torch.cat([y, up[:, 1:]], dim=1) - self.offset
        return torch.einsum("ij,njhw->nihw", self.ycbcr_to_rgb, ycc_out)
