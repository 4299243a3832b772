"""What a killed eval keeps: each finished chunk's rows and predictions, saved atomically.

After a variant has predicted and scored one chunk of items, its rows, predictions and work
counts are written to one file whose name is a digest of everything that made them: the
task and its options, the variant (method, weights hash, precision, device type), the scale,
the chunk size, and each item of the chunk (id, group, target, meta and where its pixels come
from: a file's path, size and modification time, or an eager image's bytes). Re-running the
same eval finds the file and reuses it; change the model, a data file or a setting and the
digest changes, so what it touches is recomputed, never silently reused. The files live in
``$SRPIPE_CACHE/eval-state`` (so a re-run with a new default ``-o`` folder still finds them)
and are removed once the report is made (one folder per task and its options, so a
changed model's leftovers go too).

The files are pickles written by this program into the user's own cache folder, the same
trust the torchrun gather already places in pickles between the job's own ranks.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.atomic import write_bytes
from srpipe.environment import cache_dir
from srpipe.task import ImageFile, Item, Variant

#: bump when what a chunk file holds changes shape
FORMAT = 1


@dataclass
class ChunkResult:
    """One variant's work on one chunk: what the run would otherwise recompute."""

    rows: list[dict[str, Any]]
    #: the task's predictions (empty when the task's metrics are item means)
    predictions: list[Any]
    seconds_image: float = 0.0
    seconds_predict: float = 0.0
    cache_hits: int = 0
    #: notes the chunk added to the report (e.g. an uncached model)
    notes: list[str] = field(default_factory=list)


class ChunkStore:
    """Saved chunk results of one eval, addressed by the digest of what made them.

    ``root`` None keeps nothing (every chunk computed, nothing saved).
    """

    def __init__(self, root: Path | None, run_key: dict[str, Any]) -> None:
        self.root = root
        self._run = _digest(json.dumps(run_key, sort_keys=True, default=str).encode())
        self._item_digests: dict[int, str] = {}
        #: chunks reused rather than computed
        self.reused = 0

    @classmethod
    def default(cls, run_key: dict[str, Any], enabled: bool = True) -> ChunkStore:
        """The store under ``$SRPIPE_CACHE/eval-state`` (or one that keeps nothing)."""
        return cls(cache_dir() / "eval-state" if enabled else None, run_key)

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def key(
        self,
        scale: int,
        variant: Variant,
        device_type: str,
        start: int,
        items: Iterable[Item],
    ) -> str:
        """The digest naming one variant's chunk starting at item ``start``."""
        parts = [
            self._run,
            str(scale),
            str(start),
            variant_fingerprint(variant, device_type),
            *(self._item_digest(start + k, item) for k, item in enumerate(items)),
        ]
        return _digest("\n".join(parts).encode())

    def has(self, key: str) -> bool:
        """Whether a chunk is saved under ``key``."""
        path = self._path(key)
        return path is not None and path.is_file()

    def load(self, key: str) -> ChunkResult | None:
        """The saved chunk under ``key``; None when there is none or it cannot be read."""
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            saved = pickle.loads(path.read_bytes())
        except Exception:  # torn by a crash of an older writer, or another format
            return None
        if not isinstance(saved, tuple) or len(saved) != 2 or saved[0] != FORMAT:
            return None
        self.reused += 1
        return saved[1]

    def save(self, key: str, result: ChunkResult) -> None:
        """Write ``result`` under ``key`` atomically (a kill leaves the old file or none)."""
        path = self._path(key)
        if path is None:
            return
        write_bytes(path, pickle.dumps((FORMAT, result), protocol=pickle.HIGHEST_PROTOCOL))

    def forget(self) -> None:
        """Remove this eval's saved chunks, those of earlier settings of it included (a
        changed model's leftovers): the report now holds what they held."""
        if self.root is not None:
            # several ranks may remove the same folder at once: what one removed is gone
            shutil.rmtree(self.root / self._run[:24], ignore_errors=True)

    def _path(self, key: str) -> Path | None:
        return None if self.root is None else self.root / self._run[:24] / key[:2] / f"{key}.pkl"

    def _item_digest(self, index: int, item: Item) -> str:
        # an item reads the same at every scale and for every variant: digest it once
        digest = self._item_digests.get(index)
        if digest is None:
            digest = item_fingerprint(item)
            self._item_digests[index] = digest
        return digest


def variant_fingerprint(variant: Variant, device_type: str) -> str:
    """What makes a variant's images and predictions: its name, kind, method and weights."""
    meta = {
        k: v for k, v in variant.meta.items() if isinstance(v, (str, int, float, bool, type(None)))
    }
    return json.dumps(
        [variant.name, variant.kind, variant.to_hr, device_type, meta], sort_keys=True, default=str
    )


def item_fingerprint(item: Item) -> str:
    """A digest of one item: id, group, target, meta, and where its pixels come from."""
    sha = hashlib.sha256()
    sha.update(json.dumps([item.id, item.group], default=str).encode())
    sha.update(_pickled(item.target))
    sha.update(_pickled(item.meta))
    if item.image is not None:
        image = np.ascontiguousarray(item.image)
        sha.update(f"{image.shape}{image.dtype}".encode())
        sha.update(image.data)
    else:
        sha.update(loader_fingerprint(item.load).encode())
    return sha.hexdigest()


def loader_fingerprint(load: Any) -> str:
    """What a loader reads: its pickle, plus size and mtime of every file it names."""
    files = []
    if isinstance(load, ImageFile):
        files.append(load.path)
    elif isinstance(load, functools.partial):
        for arg in (*load.args, *load.keywords.values()):
            if isinstance(arg, (str, os.PathLike)) and os.path.isfile(arg):
                files.append(os.fspath(arg))
    stamps = []
    for name in files:
        stat = os.stat(name)
        stamps.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return _digest(_pickled(load)) + "|" + "|".join(stamps)


def _pickled(value: Any) -> bytes:
    try:
        return pickle.dumps(value, protocol=4)
    except Exception:  # an unpicklable target or meta: its text is the best we have
        return repr(value).encode()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
