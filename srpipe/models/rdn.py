"""RDN (``rdn``) as a plugin.

Zhang et al., Residual Dense Network for Image Super-Resolution, CVPR 2018.
RDN (D=16, C=8, G=64): 22.1M parameters at x2, 22.3M at x4; dense learning.
Scales x2, x3, x4, x8. The network is :mod:`srpipe.models.networks.rdn`.
"""

from __future__ import annotations

from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec
from srpipe.weights import bundled_weights

PAPER = "Zhang et al., Residual Dense Network for Image Super-Resolution, CVPR 2018"
SCALES = (2, 3, 4, 8)
#: The paper's hyper-parameters.
PAPER_HYPER: dict[str, Any] = {"G0": 64, "D": 16, "C": 8, "G": 64, "rgb_range": 255.0}


def build_rdn(scale: int = 4, **hyper: Any):
    """RDN with the paper's hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.rdn import RDN

    return RDN(scale=scale, **{**PAPER_HYPER, **hyper})


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """RDN, with any bundled weights present in srpipe/weights."""
    return [
        ModelSpec(
            name="rdn",
            build=build_rdn,
            scales=SCALES,
            summary="RDN: 16 residual dense blocks x 8 layers, growth 64 (22M)",
            paper=PAPER,
            defaults=dict(PAPER_HYPER),
            weights=bundled_weights("rdn", SCALES),
        )
    ]
