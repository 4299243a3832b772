"""Rebuild the bundled weights' ``index.json`` from the checkpoint files beside it.

An entry records one file's sha256, its size and the srpipe header stored in it
(architecture, scale, hyper-parameters, training facts, validation PSNR), so ``srpipe
models`` and the caches use them without reading the tensors.

Writing the index lives here, in the engine, apart from :mod:`srpipe.weights`: that contract
module finds weight files and reads the index while plugins register and imports nothing of
``srpipe.models``, whereas an entry is built by reading a checkpoint's header
(:func:`~srpipe.models.checkpoint.read_checkpoint_metadata`). Only the scripts that bundle
weights (``scripts/bundle_weights.py``, ``train_bundled.py``, ``import_liif_dat_weights.py``)
write it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from srpipe import atomic
from srpipe.hashing import sha256_file
from srpipe.models.checkpoint import read_checkpoint_metadata
from srpipe.weights import INDEX_PATH, read_index


def index_entry(path: Path) -> dict[str, Any]:
    """The index record for one checkpoint file: its hash, size and header metadata."""
    meta = read_checkpoint_metadata(path) or {}
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size, **meta}


def update_index(
    paths: Iterable[Path] | None = None, index_path: Path = INDEX_PATH
) -> dict[str, dict[str, Any]]:
    """Re-hash the given checkpoints (default: every ``*.safetensors`` beside the index),
    drop entries whose file is gone, and rewrite ``index.json`` atomically; return the index."""
    directory = index_path.parent
    index = read_index(index_path)
    targets = sorted(directory.glob("*.safetensors")) if paths is None else [Path(p) for p in paths]
    for path in targets:
        index[path.name] = index_entry(path)
    index = {name: entry for name, entry in sorted(index.items()) if (directory / name).is_file()}

    atomic.write_text(index_path, json.dumps(index, indent=2, sort_keys=True) + "\n")
    return index
