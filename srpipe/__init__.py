"""srpipe: does super-resolution help your downstream task, and by how much?

The package is deliberately light to import: ``import srpipe`` configures the offline
environment (no network, no telemetry) and exposes the plugin marker. Heavy modules
(torch, ultralytics, facenet-pytorch) load only inside the functions that need them.

Public API (imported lazily on first attribute access)::

    from srpipe import Upscaler, compare, run, hookimpl
"""

from __future__ import annotations

from typing import Any

from srpipe.environment import configure_offline_defaults
from srpipe.hookspecs import hookimpl

__version__ = "0.1.0"

configure_offline_defaults()

# name -> "module:attribute"; resolved on first access so `srpipe --help` stays fast.
_LAZY = {
    "Upscaler": "srpipe.upscale:Upscaler",
    "compare": "srpipe.compare:compare",
    "run": "srpipe.runner:run",
    "Comparison": "srpipe.compare:Comparison",
    "Task": "srpipe.task:Task",
    "Item": "srpipe.task:Item",
    "ModelSpec": "srpipe.models.registry:ModelSpec",
    "get_plugin_manager": "srpipe.plugins:get_plugin_manager",
}

__all__ = ["__version__", "hookimpl", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'srpipe' has no attribute {name!r}")
    import importlib

    module_name, attr = target.split(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value
