"""On-disk cache of upscaled images, so a re-run or a second task never recomputes SR.

SR is the expensive step of a comparison (seconds per image on a CPU), and the same LR
image is upscaled again whenever another task, another seed or a re-run needs it. The
cache key is everything the output depends on:

* the sha256 of the *input* image's pixels (plus its shape and dtype),
* the method (model name, checkpoint path or classic interpolator),
* the scale,
* the sha256 of the weights file (so retrained weights under the same name never hit a
  stale entry); ``None`` for weight-less methods;
* the precision the network ran in (a bf16 output differs from the fp32 one by up to a few
  uint8 levels, and ``--precision auto`` picks either depending on the machine).

Entries live under ``cache_dir()/upscaled/<method>/x<scale>/<key[:2]>/<key>.<npy|png>``
and are written atomically (temp file in the same folder, then ``os.replace``), so a
killed run leaves no half-written entry and two processes can share the cache. ``npy``
is the default format (fast, exact); ``png`` is lossless too and about 2-3x smaller.

Several writers (torchrun ranks, machines sharing a filesystem): a reader opens either no
file or a complete one (a rename replaces the directory entry; an open file keeps the
content it had), so there are no torn reads. A corrupt entry is removed only if it is
still the file that was read, never a good one another writer put there meanwhile.

Nothing read back is trusted as it is: the README invites sharing the cache between machines,
and an entry rewritten with another dtype, shape or range would otherwise flow into a report
(PSNR -52 dB with exit 0). :meth:`UpscaleCache.upscale_many` checks every hit against what the
input and scale imply; a bad entry is said on stderr, removed and recomputed.
Sharded runs give each item to one rank, so work is duplicated only when two ranks (or
two jobs) miss the same key at the same time: both compute it, both write the same
bytes, and the last rename wins.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from srpipe.atomic import atomic_path
from srpipe.environment import cache_dir

FORMATS = ("npy", "png")


def image_digest(image: np.ndarray) -> str:
    """sha256 of an image's pixels, shape and dtype (two arrays are equal iff digests are)."""
    array = np.ascontiguousarray(image)
    digest = hashlib.sha256()
    digest.update(f"{array.dtype.str}:{array.shape}".encode())
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def entry_problem(entry: np.ndarray, source: np.ndarray, scale: float) -> str | None:
    """What is wrong with ``entry`` as the upscaled ``source`` (None: it is plausible)."""
    if entry.dtype != source.dtype:
        return f"holds {entry.dtype}, the input is {source.dtype}"
    if entry.ndim != source.ndim or entry.shape[2:] != source.shape[2:]:
        return f"has shape {entry.shape}, the input {source.shape}"
    for axis in (0, 1):
        want = source.shape[axis] * scale
        # a fractional scale rounds the output size; an integer one is exact
        if abs(entry.shape[axis] - want) > (0 if float(scale).is_integer() else 1):
            return f"has shape {entry.shape}, x{scale:g} of {source.shape} is not that"
    if entry.dtype.kind == "f" and not np.isfinite(entry).all():
        return "holds NaN/Inf"
    return None


def _slug(text: str) -> str:
    """A file-system-safe folder name for a method (a checkpoint path becomes its stem)."""
    name = Path(text).stem if ("/" in text or os.sep in text) else text
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:64] or "method"


#: the bf16 forward as it now runs (the last pixel shuffle folded, srpipe.models.shuffle_fold):
#: its outputs differ from the unfolded bf16 ones in a few pixels, so entries made before it
#: are not served for it
BF16_PATH = "bf16+fold"


class UpscaleCache:
    """A content-addressed store of upscaled images.

    ``UpscaleCache()`` uses ``cache_dir()/upscaled``; ``UpscaleCache(enabled=False)`` is a
    no-op cache (everything misses, nothing is written). ``hits`` and ``misses`` count
    lookups, which the comparison report shows.
    """

    def __init__(
        self, root: str | os.PathLike[str] | None = None, *, fmt: str = "npy", enabled: bool = True
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"cache format must be one of {FORMATS}, got {fmt!r}")
        self.root = Path(root) if root is not None else cache_dir() / "upscaled"
        self.fmt = fmt
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        #: set when a write failed (full disk, read-only): lookups go on, stores stop
        self.unwritable = False

    def key(
        self,
        image: np.ndarray,
        method: str,
        scale: float,
        weights_hash: str | None,
        *,
        precision: str,
    ) -> str:
        """The cache key of upscaling ``image`` by ``method`` at ``scale`` with those weights
        in ``precision`` (the one used, not the one asked)."""
        # x3.5 and x3 are different outputs (int() once folded them into one key)
        path = BF16_PATH if precision == "bf16" else precision
        parts = f"{image_digest(image)}|{method}|x{scale:g}|{weights_hash or '-'}|{path}"
        return hashlib.sha256(parts.encode()).hexdigest()

    def path(self, key: str, method: str, scale: float) -> Path:
        """Where the entry for ``key`` lives."""
        return self.root / _slug(method) / f"x{scale:g}" / key[:2] / f"{key}.{self.fmt}"

    def get(
        self, key: str, method: str, scale: float, like: np.ndarray | None = None
    ) -> np.ndarray | None:
        """The cached image, or None (a corrupt entry counts as a miss and is removed).

        With ``like`` (the input image) the entry must also be what upscaling it by ``scale``
        gives: same dtype and channels, ``scale`` times its size, finite values.
        """
        if not self.enabled:
            self.misses += 1
            return None
        path = self.path(key, method, scale)
        try:
            seen = path.stat()
        except OSError:
            self.misses += 1
            return None
        try:
            image = self._read(path)
        except Exception:  # a truncated or foreign file: recompute rather than fail
            self._remove_if_unchanged(path, seen)
            self.misses += 1
            return None
        problem = entry_problem(image, like, scale) if like is not None else None
        if problem is not None:
            print(f"srpipe: upscale cache entry {path} {problem}; recomputed", file=sys.stderr)
            self._remove_if_unchanged(path, seen)
            self.misses += 1
            return None
        self.hits += 1
        return image

    def put(self, key: str, method: str, scale: float, image: np.ndarray) -> None:
        """Store ``image`` under ``key`` atomically (no-op when disabled)."""
        if not self.enabled or self.unwritable:
            return
        try:
            with atomic_path(self.path(key, method, scale)) as tmp:
                self._write(tmp, image)
        except OSError as exc:
            # a full disk or a read-only cache must not end an evaluation whose results are
            # in memory: say which cache, once, and go on computing without storing
            self.unwritable = True
            print(
                f"srpipe: cannot write the upscale cache under {self.root} "
                f"({exc.strerror or exc}); going on without storing SR outputs (free space "
                "there, or set SRPIPE_CACHE to another folder)",
                file=sys.stderr,
            )

    def upscale_many(
        self,
        images: Sequence[np.ndarray],
        method: str,
        scale: float,
        weights_hash: str | None,
        compute: Callable[[list[np.ndarray]], list[np.ndarray]],
        *,
        precision: str,
    ) -> tuple[list[np.ndarray], list[bool]]:
        """Upscale ``images``, computing only the cache misses, in one ``compute`` batch.

        Returns the upscaled images and, per image, whether it came from the cache.
        """
        keys = [self.key(img, method, scale, weights_hash, precision=precision) for img in images]
        found = [self.get(k, method, scale, like=img) for k, img in zip(keys, images)]
        missing = [i for i, img in enumerate(found) if img is None]
        if missing:
            computed = compute([images[i] for i in missing])
            for i, out in zip(missing, computed, strict=True):
                self.put(keys[i], method, scale, out)
                found[i] = out
        missed = set(missing)
        hits = [i not in missed for i in range(len(images))]
        return [img for img in found if img is not None], hits

    @staticmethod
    def _remove_if_unchanged(path: Path, seen: os.stat_result) -> None:
        """Delete the bad entry that was read, unless a writer has replaced it since."""
        try:
            now = path.stat()
        except OSError:
            return
        if (now.st_ino, now.st_dev, now.st_mtime_ns) == (
            seen.st_ino,
            seen.st_dev,
            seen.st_mtime_ns,
        ):
            path.unlink(missing_ok=True)

    def _write(self, path: Path, image: np.ndarray) -> None:
        if self.fmt == "npy":
            with open(path, "wb") as fh:
                np.save(fh, np.ascontiguousarray(image), allow_pickle=False)
            return
        import cv2

        bgr = image[:, :, ::-1] if image.ndim == 3 and image.shape[2] == 3 else image
        ok, buf = cv2.imencode(".png", np.ascontiguousarray(bgr))
        if not ok:
            raise OSError(f"cannot encode cache entry {path}")
        path.write_bytes(buf.tobytes())

    def _read(self, path: Path) -> np.ndarray:
        if self.fmt == "npy":
            return np.load(path, allow_pickle=False)
        import cv2

        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise OSError(f"cannot decode cache entry {path}")
        if image.ndim == 3 and image.shape[2] == 3:
            image = np.ascontiguousarray(image[:, :, ::-1])
        return image
