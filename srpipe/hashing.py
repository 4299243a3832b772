"""The sha256 of a file: what weights, caches, downloads and converted graphs are keyed by.

One helper for all of them, so a file is always hashed the same way (streamed in 1 MiB
blocks, never read whole) and hashed once per process while it is unchanged.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# (path, size, mtime_ns) -> sha256: hashing a 40 MB file on every call would be wasteful.
_CACHE: dict[tuple[str, int, int], str] = {}
BLOCK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes (cached per path, size and modification time)."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    cached = _CACHE.get(key)
    if cached is None:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(BLOCK), b""):
                digest.update(block)
        cached = _CACHE[key] = digest.hexdigest()
    return cached
