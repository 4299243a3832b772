"""VDSR (``vdsr``) as a plugin.

Kim et al., Accurate Image Super-Resolution Using Very Deep Convolutional Networks, CVPR 2016.
VDSR: 665,921 parameters at every scale; global residual over the bicubic-upscaled input.
Scales x2, x3, x4, x8. The network is :mod:`srpipe.models.networks.vdsr`.
"""

from __future__ import annotations

from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec
from srpipe.weights import bundled_weights

PAPER = (
    "Kim et al., Accurate Image Super-Resolution Using Very Deep Convolutional Networks, CVPR 2016"
)
SCALES = (2, 3, 4, 8)
#: The paper's hyper-parameters.
PAPER_HYPER: dict[str, Any] = {"n_colors": 1, "depth": 20, "n_feats": 64}


def build_vdsr(scale: int = 4, **hyper: Any):
    """VDSR with the paper's hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.vdsr import VDSR

    return VDSR(scale=scale, **{**PAPER_HYPER, **hyper})


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """VDSR, with any bundled weights present in srpipe/weights."""
    return [
        ModelSpec(
            name="vdsr",
            build=build_vdsr,
            scales=SCALES,
            summary="VDSR: 20 conv layers, residual on bicubic-upscaled Y (665K)",
            paper=PAPER,
            defaults=dict(PAPER_HYPER),
            weights=bundled_weights("vdsr", SCALES),
        )
    ]
