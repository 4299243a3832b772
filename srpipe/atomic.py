"""Atomic file output: a reader never sees a half-written file.

Everything srpipe writes (reports, images, checkpoints, videos) goes to a temporary
file in the destination folder and is then renamed over the target, which is atomic
on POSIX and Windows when both live on the same filesystem.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    ``suffix`` defaults to the target's suffix, so libraries that pick a format from the
    file name (OpenCV, PIL, matplotlib) still do the right thing.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp's name is unique per process and call; the stem is cut so that a target whose
    # own name is near the file system's 255-byte limit still gets a legal temporary name
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{_cut(target.stem, 80)}.",
        suffix=_cut(suffix if suffix is not None else target.suffix, 32),
        dir=target.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the result the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def is_same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether writing ``b`` would replace ``a``: the same file however it is spelled
    (relative, absolute, through a symlink, a hard link to the same inode)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet: compare where the names lead
        return Path(a).resolve() == Path(b).resolve()


def _cut(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8 (never mid-character)."""
    return text.encode("utf-8", "surrogateescape")[:max_bytes].decode("utf-8", "ignore")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (a file name's undecodable bytes, carried
    as surrogates, are written as ``\\xNN`` text: see :func:`printable`)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        data = printable(text).encode("utf-8")
    return write_bytes(path, data)


def printable(text: str) -> str:
    """``text`` with the bytes Python could not decode in a file name (``os.fsdecode`` keeps
    them as lone surrogates, which no UTF-8 file can hold) written as ``\\xNN``: a records
    file names ``caf\\xe9.png`` instead of failing after every image was processed."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (numpy scalars and paths become plain values)."""
    return write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    for attr in ("item", "tolist"):  # numpy scalars and arrays, torch tensors
        if hasattr(value, attr):
            return getattr(value, attr)()
    return str(value)
