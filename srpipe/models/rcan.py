"""RCAN (``rcan``) as a plugin: residual-in-residual with channel attention.

Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel Attention
Networks", ECCV 2018. 10 residual groups x 20 RCABs, 64 features, reduction 16:
15.4M params at x2, 15.6M at x4. Scales x2, x3, x4, x8. The network is
:mod:`srpipe.models.networks.rcan`.
"""

from __future__ import annotations

from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec
from srpipe.weights import bundled_weights

PAPER = "Zhang et al., Image SR Using Very Deep Residual Channel Attention Networks, ECCV 2018"
SCALES = (2, 3, 4, 8)
#: The paper's hyper-parameters.
PAPER_HYPER = {
    "n_resgroups": 10,
    "n_resblocks": 20,
    "n_feats": 64,
    "reduction": 16,
    "rgb_range": 255.0,
}


def build_rcan(scale: int = 4, **hyper: Any):
    """RCAN with the paper's hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.rcan import RCAN

    return RCAN(scale=scale, **{**PAPER_HYPER, **hyper})


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """RCAN, with any bundled weights present in srpipe/weights."""
    return [
        ModelSpec(
            name="rcan",
            build=build_rcan,
            scales=SCALES,
            summary="RCAN: 10 residual groups x 20 channel-attention blocks (15.6M)",
            paper=PAPER,
            defaults=dict(PAPER_HYPER),
            weights=bundled_weights("rcan", SCALES),
        )
    ]
