"""Bundled default checkpoints: ``<name>_x<scale>.safetensors`` files and ``index.json``.

A model that works at any scale (LIIF) has one scale-free ``<name>.safetensors``.

The index records, per file, its sha256 and the metadata stored in its header
(architecture, scale, hyper-parameters, training data, validation PSNR), so
``srpipe models`` and caches can use them without reading the tensors. This module finds
files and reads the index; it imports no torch and nothing of ``srpipe.models``, because
model plugins call :func:`bundled_weights` when they register. Writing the index reads
checkpoint headers, so it lives in :mod:`srpipe.models.weights_index`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).resolve().parent
INDEX_PATH = WEIGHTS_DIR / "index.json"


def weights_path(name: str, scale: int | None, directory: Path = WEIGHTS_DIR) -> Path:
    """Where the bundled checkpoint of model ``name`` at ``scale`` lives (may not exist);
    ``scale=None``: the scale-free file of a model that works at any scale."""
    if scale is None:
        return directory / f"{name}.safetensors"
    return directory / f"{name}_x{scale}.safetensors"


def bundled_weights(
    name: str, scales: Iterable[int], directory: Path = WEIGHTS_DIR, *, any_scale: bool = False
) -> dict[int, Path]:
    """``{scale: path}`` for the scales of ``name`` whose weight file exists right now.

    With ``any_scale`` every scale maps to the one scale-free ``<name>.safetensors``.
    """
    if any_scale:
        path = weights_path(name, None, directory)
        return {scale: path for scale in scales} if path.is_file() else {}
    found = {}
    for scale in scales:
        path = weights_path(name, scale, directory)
        if path.is_file():
            found[scale] = path
    return found


def read_index(index_path: Path = INDEX_PATH) -> dict[str, dict[str, Any]]:
    """The zoo index: file name -> {sha256, arch, scale, hyper, ...}; empty if absent."""
    if not index_path.is_file():
        return {}
    with index_path.open(encoding="utf-8") as handle:
        return json.load(handle)
