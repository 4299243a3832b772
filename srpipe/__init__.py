"""srpipe: does super-resolution help your downstream task, and by how much?

Everything a plugin or a script needs is importable from here, as pytest re-exports
``_pytest``: ``from srpipe import Task, TaskContext, Dataset, Item, hookimpl``. The names
load on first access, so ``import srpipe`` (and ``srpipe --help``) stays light: heavy
modules (torch, ultralytics, facenet-pytorch) load only inside the functions that need them.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from srpipe.hookspecs import hookimpl
from srpipe.version import __version__

# OpenCV prints "[ WARN:0@0.02] global cap.cpp..." straight to stderr for files srpipe then
# reports in one line of its own; they stay on for --debug / SRPIPE_DEBUG=1 (cv2 reads this
# variable when it is first imported, which is always later than this)
if os.environ.get("SRPIPE_DEBUG") != "1":
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")

# name -> "module:attribute"; resolved on first access so `srpipe --help` stays fast.
_LAZY = {
    # the Python API
    "compare": "srpipe.api:compare",
    "run": "srpipe.running.runner:run",
    "Upscaler": "srpipe.upscaling.upscaler:Upscaler",
    "Comparison": "srpipe.comparison.harness:Comparison",
    "ComparisonResult": "srpipe.comparison.results:ComparisonResult",
    "EvalSettings": "srpipe.comparison.settings:EvalSettings",
    # the task contract
    "Task": "srpipe.task:Task",
    "TaskContext": "srpipe.task:TaskContext",
    "Item": "srpipe.task:Item",
    "Dataset": "srpipe.task:Dataset",
    "DatasetReader": "srpipe.task:DatasetReader",
    "Variant": "srpipe.task:Variant",
    "DifferentiableView": "srpipe.task:DifferentiableView",
    "Frame": "srpipe.frames:Frame",
    "FrameSource": "srpipe.frames:FrameSource",
    "FrameWriter": "srpipe.frames:FrameWriter",
    # models
    "ModelSpec": "srpipe.models.spec:ModelSpec",
    # errors plugins raise
    "SrpipeError": "srpipe.errors:SrpipeError",
    "UsageError": "srpipe.errors:UsageError",
    # helpers plugins use
    "get_plugin_manager": "srpipe.plugins:get_plugin_manager",
    "cache_dir": "srpipe.environment:cache_dir",
    "distribution_version": "srpipe.environment:distribution_version",
    "atomic_path": "srpipe.atomic:atomic_path",
    "resolve_device": "srpipe.upscaling.upscaler:resolve_device",
    "is_image_path": "srpipe.image.io:is_image_path",
    "read_image": "srpipe.image.io:read_image",
    "write_image": "srpipe.image.io:write_image",
    "degrade": "srpipe.image.resize:degrade",
    "modcrop": "srpipe.image.resize:modcrop",
    "upscale_classic": "srpipe.image.resize:upscale_classic",
    "psnr": "srpipe.image.metrics:psnr",
    "ssim": "srpipe.image.metrics:ssim",
    "check_pickle": "srpipe.pickle_check:check_pickle",
    "is_pickle_file": "srpipe.pickle_check:is_pickle_file",
}

__all__ = ["__version__", "hookimpl", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'srpipe' has no attribute {name!r}")
    module_name, attr = target.split(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
