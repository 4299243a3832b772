"""FSRCNN (``fsrcnn``) as a plugin.

Dong et al., Accelerating the Super-Resolution Convolutional Neural Network, ECCV 2016.
FSRCNN(56, 12, 4): 12,637 convolution parameters at every scale (+172 PReLU slopes);
upsampling by a transposed convolution at the end of the network.
Scales x2, x3, x4, x8. The network is :mod:`srpipe.models.networks.fsrcnn`.
"""

from __future__ import annotations

from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec
from srpipe.weights import bundled_weights

PAPER = "Dong et al., Accelerating the Super-Resolution Convolutional Neural Network, ECCV 2016"
SCALES = (2, 3, 4, 8)
#: The paper's hyper-parameters.
PAPER_HYPER: dict[str, Any] = {"n_colors": 1, "d": 56, "s": 12, "m": 4}


def build_fsrcnn(scale: int = 4, **hyper: Any):
    """FSRCNN with the paper's hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.fsrcnn import FSRCNN

    return FSRCNN(scale=scale, **{**PAPER_HYPER, **hyper})


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """FSRCNN, with any bundled weights present in srpipe/weights."""
    return [
        ModelSpec(
            name="fsrcnn",
            build=build_fsrcnn,
            scales=SCALES,
            summary="FSRCNN(56,12,4) on LR Y, transposed-conv upsampling (12.6K)",
            paper=PAPER,
            defaults=dict(PAPER_HYPER),
            weights=bundled_weights("fsrcnn", SCALES),
        )
    ]
