"""Build SR networks from checkpoints srpipe's own detection does not know, through spandrel.

spandrel (MIT, the optional extra ``srpipe[spandrel]``) recognises some 40 architectures
(SwinIR, HAT, DAT, RRDBNet/Real-ESRGAN, OmniSR, SPAN, Swin2SR...) from a state dict's keys
and shapes. It is handed the state dict srpipe already read safely (safetensors, or
``torch.load(weights_only=True)``), never the file, so spandrel's own pickle reading never
runs. The network is wrapped (:mod:`srpipe.models.networks.spandrel_network`) so it keeps
srpipe's model contract (RGB in [0, 1] in, x``scale`` out) and runs through the same Upscaler
as every other model.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from srpipe.errors import SrpipeError

if TYPE_CHECKING:
    from torch import nn

#: what a user without the extra is told to install
SPANDREL_INSTALL = "pip install 'srpipe[spandrel]'"


def spandrel_available() -> bool:
    """Whether spandrel is installed (found without importing it)."""
    return importlib.util.find_spec("spandrel") is not None


def load_with_spandrel(
    state: Mapping[str, Any], label: str
) -> tuple[nn.Module, dict[str, Any]] | None:
    """The network spandrel recognises in ``state`` and its metadata, or None.

    None when spandrel is not installed or does not know the layout. A layout spandrel
    recognises but that is not an RGB super-resolution model, or whose weights do not fit,
    raises a one-line :class:`SrpipeError` naming ``label`` (the file).
    """
    if not spandrel_available():
        return None
    import spandrel

    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(dict(state))
    except spandrel.UnsupportedModelError:
        return None
    except Exception as exc:  # spandrel matched an architecture but the tensors disagree
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise SrpipeError(f"{label}: spandrel could not build the network ({reason})") from None
    arch = descriptor.architecture.name
    if not isinstance(descriptor, spandrel.ImageModelDescriptor) or descriptor.purpose not in (
        "SR",
        "FaceSR",
    ):
        raise SrpipeError(
            f"{label}: spandrel recognises a {arch} {descriptor.purpose} model, not "
            "super-resolution; srpipe upscales with SR models only"
        )
    if (descriptor.input_channels, descriptor.output_channels) != (3, 3):
        raise SrpipeError(
            f"{label}: the {arch} model maps {descriptor.input_channels} to "
            f"{descriptor.output_channels} channels; srpipe's models take and give RGB"
        )
    meta = {
        "arch": arch,
        "scale": descriptor.scale,
        "hyper": {},
        "source": "spandrel",
        "loader": f"spandrel {spandrel.__version__}",
        "parameters": sum(p.numel() for p in descriptor.model.parameters()),
    }
    from srpipe.models.networks.spandrel_network import SpandrelNetwork

    return SpandrelNetwork(descriptor), meta
