"""ESPCN (``espcn``) as a plugin.

Shi et al., Real-Time Single Image and Video SR Using an Efficient Sub-Pixel CNN, CVPR 2016.
ESPCN: 21,284 parameters at x2, 24,752 at x4; sub-pixel convolution (pixel shuffle).
Scales x2, x3, x4, x8. The network is :mod:`srpipe.models.networks.espcn`.
"""

from __future__ import annotations

from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec
from srpipe.weights import bundled_weights

PAPER = (
    "Shi et al., Real-Time Single Image and Video SR Using an Efficient Sub-Pixel CNN, CVPR 2016"
)
SCALES = (2, 3, 4, 8)
#: The paper's hyper-parameters.
PAPER_HYPER: dict[str, Any] = {"n_colors": 1, "n1": 64, "n2": 32}


def build_espcn(scale: int = 4, **hyper: Any):
    """ESPCN with the paper's hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.espcn import ESPCN

    return ESPCN(scale=scale, **{**PAPER_HYPER, **hyper})


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """ESPCN, with any bundled weights present in srpipe/weights."""
    return [
        ModelSpec(
            name="espcn",
            build=build_espcn,
            scales=SCALES,
            summary="ESPCN on LR Y, one sub-pixel (pixel-shuffle) layer (21-25K)",
            paper=PAPER,
            defaults=dict(PAPER_HYPER),
            weights=bundled_weights("espcn", SCALES),
        )
    ]
