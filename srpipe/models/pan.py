"""PAN (``pan``) as a plugin.

Zhao et al., Efficient Image Super-Resolution Using Pixel Attention, ECCVW 2020.
PAN: 261K parameters at x2, 272K at x4; pixel attention in the blocks and upsampler.
Scales x2, x3, x4, x8. The network is :mod:`srpipe.models.networks.pan`.
"""

from __future__ import annotations

from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec
from srpipe.weights import bundled_weights

PAPER = "Zhao et al., Efficient Image Super-Resolution Using Pixel Attention, ECCVW 2020"
SCALES = (2, 3, 4, 8)
#: The paper's hyper-parameters.
PAPER_HYPER: dict[str, Any] = {"n_feats": 40, "n_up_feats": 24, "n_blocks": 16}


def build_pan(scale: int = 4, **hyper: Any):
    """PAN with the paper's hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.pan import PAN

    return PAN(scale=scale, **{**PAPER_HYPER, **hyper})


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """PAN, with any bundled weights present in srpipe/weights."""
    return [
        ModelSpec(
            name="pan",
            build=build_pan,
            scales=SCALES,
            summary="PAN: 16 SC-PA blocks, pixel attention, 40 features (272K)",
            paper=PAPER,
            defaults=dict(PAPER_HYPER),
            weights=bundled_weights("pan", SCALES),
        )
    ]
