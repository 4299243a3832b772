"""Per-item rows of a comparison: compact while it runs, one file beside the report after.

A row is one item's scores on one variant at one scale: ``id``, ``group``, ``psnr_vs_hr``,
``scores`` and, when the task describes it, ``prediction``. On a set of 50,000 items a
report.json that held them would be hundreds of megabytes, and a list of row dicts in memory
would grow with the set, so rows are encoded as one JSON line each (``bytes``) the moment an
item is scored, a variant's lines are appended to a temporary spool once the variant is
measured, and the statistics and crops read number arrays (:class:`ItemColumns`), never the
rows. The report writer copies the spool to ``items.jsonl.gz`` beside report.json (gzip
without a time stamp, so the same rows give the same bytes and the same sha256), and
report.json names it with its sha256 (``items`` in report.json);
:func:`srpipe.report.read_item_scores` reads it back.

Each line of ``items.jsonl.gz`` is a JSON object: ``scale`` (``"x4"``), ``variant`` and the
row's own keys, in report order (scale, then variant, then item). NaN and infinities are
written as ``null``, as in report.json.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from srpipe.atomic import atomic_path

#: the file beside report.json that holds every per-item row
ITEMS_FILE = "items.jsonl.gz"
#: what report.json's ``items.format`` says the file holds
ITEMS_FORMAT = "srpipe-items/1: gzip, one JSON object a line (scale, variant, id, group, ...)"


def strict(value: Any) -> Any:
    """``value`` with NaN/inf as None and numpy scalars made plain, recursively (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def encode_row(scale: int, variant: str, row: dict[str, Any]) -> bytes:
    """One row as a JSON line with its scale and variant, for :class:`ItemColumns`.

    Infinities and NaN stay as JSON's ``Infinity``/``NaN`` here: a mean over items must see
    an infinite score (PSNR of identical images) as infinite. :meth:`ItemStream.append`
    makes the line strict JSON.
    """
    line = {"scale": f"x{scale}", "variant": variant, **row}
    return json.dumps(line, default=_plain_number, separators=(",", ":")).encode() + b"\n"


def _plain_number(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def strict_line(line: bytes) -> bytes:
    """An encoded row as strict JSON (NaN and infinities as null), as the items file holds it."""
    if b"NaN" not in line and b"Infinity" not in line:
        return line  # nothing to replace: the common case, without decoding
    return json.dumps(strict(json.loads(line)), separators=(",", ":")).encode() + b"\n"


@dataclass
class ItemColumns:
    """One variant's per-item numbers as arrays, in item order: what statistics and crops read.

    A metric an item has no score for (or a null one) is NaN, as is PSNR against HR where
    the harness computes none (HR itself, or an image of another size).
    """

    psnr: np.ndarray
    #: metric -> score per item
    scores: dict[str, np.ndarray]

    @classmethod
    def from_rows(cls, rows: Sequence[bytes], metrics: Sequence[str]) -> ItemColumns:
        """The columns of encoded rows (one decoded at a time: no row objects are kept)."""
        psnr = np.full(len(rows), np.nan)
        scores = {m: np.full(len(rows), np.nan) for m in metrics}
        for index, line in enumerate(rows):
            row = json.loads(line)
            if row.get("psnr_vs_hr") is not None:
                psnr[index] = row["psnr_vs_hr"]
            for metric, value in (row.get("scores") or {}).items():
                if metric in scores and value is not None:
                    scores[metric][index] = value
        return cls(psnr, scores)

    def __len__(self) -> int:
        return int(self.psnr.shape[0])


class ItemStream:
    """Every row of one comparison in report order, spooled to a temporary file until written.

    The spool is an anonymous temporary file (removed by :meth:`close`, or when the stream is
    collected), so rows cost disk, not memory, whatever the size of the set.
    """

    def __init__(self) -> None:
        # closed with the stream: the rows outlive this call, so no context manager here
        self._spool: IO[bytes] = tempfile.TemporaryFile(prefix="srpipe-items-")  # noqa: SIM115
        #: rows spooled so far
        self.rows = 0

    def append(self, lines: Iterable[bytes]) -> None:
        """Add encoded rows (:func:`encode_row`) after those already spooled."""
        self._spool.seek(0, 2)
        for line in lines:
            self._spool.write(strict_line(line))
            self.rows += 1

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The rows as dicts, one at a time, in report order.

        Each iteration keeps its own read offset and seeks to it before every block, so two
        iterations (or an iteration and :meth:`write`) interleaved do not move each other.
        """
        offset, pending = 0, b""
        while True:
            self._spool.seek(offset)
            block = self._spool.read(1 << 20)
            if not block:
                break
            offset += len(block)
            *lines, pending = (pending + block).split(b"\n")
            for line in lines:
                yield json.loads(line)
        if pending.strip():
            yield json.loads(pending)

    def close(self) -> None:
        """Remove the spool now (it goes with the stream anyway when collected)."""
        self._spool.close()

    def write(self, path: Path) -> str:
        """Write the rows to ``path`` (gzip, no time stamp) atomically; returns its sha256."""
        self._spool.seek(0)
        with atomic_path(path) as tmp:
            # mtime=0 and no file name: the same rows give the same bytes (resume, sha256)
            with (
                open(tmp, "wb") as raw,
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed,
            ):
                while block := self._spool.read(1 << 20):
                    packed.write(block)
            digest = file_sha256(tmp)
        return digest


def by_scale_and_variant(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, list[dict]]]:
    """Rows grouped as ``{"x4": {variant: [row, ...]}}``, each without its scale and variant."""
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        scale, variant = row.pop("scale"), row.pop("variant")
        grouped.setdefault(scale, {}).setdefault(variant, []).append(row)
    return grouped


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of an items file, one at a time, in report order."""
    with gzip.open(path, "rb") as packed:
        for line in packed:
            yield json.loads(line)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()
