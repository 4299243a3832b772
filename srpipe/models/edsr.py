"""EDSR-baseline (``edsr``, alias ``edsr-baseline``) and EDSR (``edsr-large``) as a plugin.

Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution",
CVPRW 2017. EDSR-baseline: 16 residual blocks x 64 features, res_scale 1, 1.370M params
at x2 / 1.518M at x4. EDSR: 32 x 256, res_scale 0.1, 40.7M at x2 / 43.1M at x4.
Scales x2, x3, x4, x8. The network is :mod:`srpipe.models.networks.edsr` (imported only
when a model is built, so registering costs no torch import).
"""

from __future__ import annotations

from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec
from srpipe.weights import bundled_weights

PAPER = "Lim et al., Enhanced Deep Residual Networks for Single Image SR, CVPRW 2017"
SCALES = (2, 3, 4, 8)
#: EDSR-baseline hyper-parameters (paper, Table 1).
BASELINE = {"n_resblocks": 16, "n_feats": 64, "res_scale": 1.0, "rgb_range": 255.0}
#: EDSR (the large model) hyper-parameters (paper, Table 1).
LARGE = {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1, "rgb_range": 255.0}


def build_edsr(scale: int = 4, **hyper: Any):
    """EDSR with the baseline hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.edsr import EDSR

    return EDSR(scale=scale, **{**BASELINE, **hyper})


def build_edsr_large(scale: int = 4, **hyper: Any):
    """EDSR with the paper's large-model hyper-parameters unless ``hyper`` overrides them."""
    from srpipe.models.networks.edsr import EDSR

    return EDSR(scale=scale, **{**LARGE, **hyper})


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """EDSR-baseline and EDSR, with any bundled weights present in srpipe/weights."""
    return [
        ModelSpec(
            name="edsr",
            build=build_edsr,
            scales=SCALES,
            summary="EDSR-baseline: 16 res-blocks x 64, no BN, pixel shuffle (1.5M)",
            paper=PAPER,
            defaults=dict(BASELINE),
            weights=bundled_weights("edsr", SCALES),
            aliases=("edsr-baseline",),
        ),
        ModelSpec(
            name="edsr-large",
            build=build_edsr_large,
            scales=SCALES,
            summary="EDSR: 32 res-blocks x 256, residual scaling 0.1 (43M)",
            paper=PAPER,
            defaults=dict(LARGE),
            weights=bundled_weights("edsr-large", SCALES),
        ),
    ]
