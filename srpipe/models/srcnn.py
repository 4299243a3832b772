"""SRCNN (``srcnn``) as a plugin.

Dong et al., Image Super-Resolution Using Deep Convolutional Networks, TPAMI 2016.
SRCNN 9-5-5: 57,281 parameters at every scale; bicubic upsampling outside (before) the
network, done inside ``forward`` so the model maps LR RGB to SR RGB like every other.
Scales x2, x3, x4, x8. The network is :mod:`srpipe.models.networks.srcnn`.
"""

from __future__ import annotations

from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec
from srpipe.weights import bundled_weights

PAPER = "Dong et al., Image Super-Resolution Using Deep Convolutional Networks, TPAMI 2016"
SCALES = (2, 3, 4, 8)
#: The paper's hyper-parameters.
PAPER_HYPER: dict[str, Any] = {"n_colors": 1, "f1": 9, "f2": 5, "f3": 5, "n1": 64, "n2": 32}


def build_srcnn(scale: int = 4, **hyper: Any):
    """SRCNN with the paper's hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.srcnn import SRCNN

    return SRCNN(scale=scale, **{**PAPER_HYPER, **hyper})


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """SRCNN, with any bundled weights present in srpipe/weights."""
    return [
        ModelSpec(
            name="srcnn",
            build=build_srcnn,
            scales=SCALES,
            summary="SRCNN 9-5-5 on bicubic-upscaled Y (57K)",
            paper=PAPER,
            defaults=dict(PAPER_HYPER),
            weights=bundled_weights("srcnn", SCALES),
        )
    ]
