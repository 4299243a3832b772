"""The bundled ``camera-motion`` classifier: a small (2+1)D CNN and its spec, the offline default.

The network factorises each 3D convolution into a spatial ``1x3x3`` and a temporal ``3x1x1``
one (R(2+1)D, Tran et al., CVPR 2018), at a width that trains on one CPU core: about 0.1M
parameters. Its first layer is a full ``3x3x3`` convolution at the input resolution, so that
sub-pixel motion (a quarter of an LR pixel a frame at x4) is seen before any striding.

Its weights (``weights/camera_motion.safetensors``) are trained by ``scripts/train_action.py``
on the camera-motion set's train stills and selected on its validation stills
(:mod:`srpipe_action.camera_motion`); the file's metadata records the recipe, the splits and
the selection. torch is imported only when the network is built or the weights are read.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from pathlib import Path
from typing import Any

from srpipe.errors import SrpipeError
from srpipe_action.camera_motion import CAMERA_MOTIONS, CLIP_FRAMES, CLIP_SIZE
from srpipe_action.classifier_spec import ClassifierSpec

NAME = "camera-motion"
WEIGHTS = Path(__file__).resolve().parent / "weights" / "camera_motion.safetensors"
#: Kinetics' normalisation, as torchvision's video models use
MEAN = (0.43216, 0.394666, 0.37645)
STD = (0.22803, 0.22145, 0.216989)
#: channels of the stem and of the three (2+1)D stages
WIDTHS = (16, 24, 48, 64)


def build_motion_net(num_classes: int = len(CAMERA_MOTIONS), widths: tuple[int, ...] = WIDTHS):
    """The (2+1)D network: ``(N, 3, T, H, W)`` in, ``(N, num_classes)`` logits out."""
    from torch import nn

    def unit(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]):
        padding = tuple(k // 2 for k in kernel)
        return [
            nn.Conv3d(cin, cout, kernel, stride, padding, bias=False),
            nn.BatchNorm3d(cout),
            nn.ReLU(inplace=True),
        ]

    layers: list[Any] = unit(3, widths[0], (3, 3, 3), (1, 2, 2))
    for cin, cout in itertools.pairwise(widths):
        layers += unit(cin, cout, (1, 3, 3), (1, 2, 2))  # spatial, halves H and W
        layers += unit(cout, cout, (3, 1, 1), (1, 1, 1))  # temporal
    return nn.Sequential(
        OrderedDict(
            [
                ("features", nn.Sequential(*layers)),
                ("pool", nn.AdaptiveAvgPool3d(1)),
                ("flatten", nn.Flatten()),
                ("head", nn.Linear(widths[-1], num_classes)),
            ]
        )
    )


def read_bundled_weights(path: Path = WEIGHTS) -> dict[str, Any]:
    """The bundled state dict (safetensors); one line if the file is missing."""
    if not path.is_file():
        raise SrpipeError(
            f"the camera-motion weights are missing ({path}); reinstall srpipe or run "
            "scripts/train_action.py"
        )
    from safetensors.torch import load_file

    return load_file(str(path))


def read_bundled_metadata(path: Path = WEIGHTS) -> dict[str, str]:
    """The recipe, splits and selection recorded in the weights file."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return dict(handle.metadata() or {})


def motion_spec() -> ClassifierSpec:
    """The spec ``--classifier camera-motion`` resolves to (registered by the plugin)."""
    return ClassifierSpec(
        name=NAME,
        build=build_motion_net,
        clip_length=CLIP_FRAMES,
        # one sampled frame per frame of a 30 fps input: speeds are per input frame
        frame_rate=30.0,
        resize=(CLIP_SIZE,),
        crop=(CLIP_SIZE, CLIP_SIZE),
        mean=MEAN,
        std=STD,
        categories=CAMERA_MOTIONS,
        head="head.weight",
        pretrained=read_bundled_weights,
        summary="srpipe's camera-motion (2+1)D CNN, bundled, trained on the camera-motion "
        "proxy set (pans and zooms over packaged stills, not Kinetics)",
    )
