"""On-disk cache of prepared HR faces (chip geometry, embedding, box, landmarks) per image.

Preparing LFW means MTCNN plus an embedding on 7,700 images: many minutes on a CPU, and the
same for every ``srpipe eval faces`` run. The result depends only on the image file, the
detector and embedder settings and the chip geometry, so it is cached under
``<cache>/faces/prepared/`` keyed by all of them (file size and modification time stand in for
the content). Entries are written atomically; a damaged entry is ignored and recomputed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.atomic import atomic_path
from srpipe.environment import cache_dir

#: bump when what is stored, or how it is computed, changes
PREPARE_VERSION = 2  # 2: the chip's geometry, not its pixels


def cache_root() -> Path:
    """``<srpipe cache>/faces/prepared``."""

    return cache_dir() / "faces" / "prepared"


def cache_key(path: Path, settings: dict[str, Any]) -> str | None:
    """The entry name for ``path`` under ``settings``; None if the file cannot be stat'ed."""
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    fields = {
        "version": PREPARE_VERSION,
        "path": str(Path(path).resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        **settings,
    }
    return hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def load(key: str | None) -> dict[str, Any] | None:
    """The stored fields of ``key``, or None when absent or unreadable."""
    if key is None:
        return None
    file = cache_root() / f"{key}.npz"
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except Exception:  # a truncated or foreign file: recompute rather than fail
        return None


def store(key: str | None, fields: dict[str, np.ndarray]) -> None:
    """Write ``fields`` (plain numpy arrays) for ``key`` atomically; errors are not fatal."""
    if key is None:
        return

    try:
        with atomic_path(cache_root() / f"{key}.npz") as tmp:
            np.savez(tmp, **fields)
    except OSError:  # a read-only cache only costs time
        pass
