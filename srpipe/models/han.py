"""HAN (``han``) as a plugin: RCAN plus layer attention and channel-spatial attention.

Niu et al., "Single Image Super-Resolution via a Holistic Attention Network", ECCV 2020.
10 residual groups x 20 RCABs, 64 features, reduction 16: 15.9M params at x2, 16.1M at
x4. Scales x2, x3, x4, x8. The network is :mod:`srpipe.models.networks.han`.
"""

from __future__ import annotations

from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec
from srpipe.weights import bundled_weights

PAPER = "Niu et al., Single Image Super-Resolution via a Holistic Attention Network, ECCV 2020"
SCALES = (2, 3, 4, 8)
#: The paper's hyper-parameters (the RCAN backbone's).
PAPER_HYPER: dict[str, Any] = {
    "n_resgroups": 10,
    "n_resblocks": 20,
    "n_feats": 64,
    "reduction": 16,
    "rgb_range": 255.0,
}


def build_han(scale: int = 4, **hyper: Any):
    """HAN with the paper's hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.han import HAN

    return HAN(scale=scale, **{**PAPER_HYPER, **hyper})


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """HAN, with any bundled weights present in srpipe/weights."""
    return [
        ModelSpec(
            name="han",
            build=build_han,
            scales=SCALES,
            summary="HAN: RCAN + layer attention + channel-spatial attention (16M)",
            paper=PAPER,
            defaults=dict(PAPER_HYPER),
            weights=bundled_weights("han", SCALES),
        )
    ]
