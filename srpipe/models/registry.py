"""The model registry: what ``srpipe_register_models`` returns and how names are looked up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srpipe.errors import SrpipeError

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """One registered SR architecture (or configuration of one).

    ``build(scale=..., **hyper)`` returns an ``nn.Module`` mapping an RGB float tensor in
    [0, 1] of shape (N, 3, h, w) to (N, 3, h*scale, w*scale). Pre-upsampling models
    (SRCNN, VDSR) do the bicubic upscaling inside ``forward`` so every model shares
    that contract.
    """

    name: str
    build: Callable[..., nn.Module]
    scales: tuple[int, ...]
    summary: str
    paper: str = ""
    #: paper hyper-parameters, passed to ``build`` unless a checkpoint says otherwise
    defaults: dict[str, Any] = field(default_factory=dict)
    #: scale -> bundled checkpoint file (safetensors) shipped with the plugin
    weights: dict[int, Path] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    #: "plugin" the spec came from (filled in by the registry)
    plugin: str = ""


def all_models() -> dict[str, ModelSpec]:
    """Every registered model by name (aliases included), in registration order."""
    from dataclasses import replace

    from srpipe.plugins import get_plugin_manager

    manager = get_plugin_manager()
    models: dict[str, ModelSpec] = {}
    for impl in manager.hook.srpipe_register_models.get_hookimpls():
        plugin_name = manager.get_name(impl.plugin) or "?"
        for spec in impl.function() or []:
            spec = replace(spec, plugin=plugin_name)
            for key in (spec.name, *spec.aliases):
                models.setdefault(key, spec)
    return models


def get_model(name: str) -> ModelSpec:
    """Look a model up by name or alias; the error lists what exists."""
    models = all_models()
    try:
        return models[name.lower()]
    except KeyError:
        known = ", ".join(sorted({spec.name for spec in models.values()}))
        raise SrpipeError(
            f"unknown SR model {name!r}; known: {known} (or give a checkpoint path)"
        ) from None


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (what papers report)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
