"""Where srpipe keeps its files, and the versions that can change its numbers.

Plugins add the versions of their own libraries (ultralytics, facenet-pytorch, ...)
through the ``srpipe_environment`` hook, so the core never names a plugin's dependency.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from srpipe.plugins import call_optional_hook
from srpipe.version import __version__

#: distributions whose versions every report records (what the core itself computes with)
CORE_DISTRIBUTIONS = ("torch", "torchvision", "numpy", "opencv-python")


def cache_dir() -> Path:
    """srpipe's cache root: ``$SRPIPE_CACHE`` or ``~/.cache/srpipe``."""
    root = os.environ.get("SRPIPE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "srpipe"
    )
    return Path(root)


def distribution_version(name: str) -> str | None:
    """The installed version of distribution ``name`` (None when not installed)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Versions of everything that can change the numbers (no heavy import needed)."""
    versions: dict[str, Any] = {
        "srpipe": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    versions.update({dist: distribution_version(dist) for dist in CORE_DISTRIBUTIONS})
    for batch in call_optional_hook("srpipe_environment"):
        for key, value in (batch or {}).items():
            versions.setdefault(str(key), value)
    return versions
