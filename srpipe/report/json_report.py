"""report.json and its items file: every number, setting and per-item row of a comparison.

report.json is the single source of truth: report.md and report.html are views of the same
:class:`~srpipe.comparison.results.ComparisonResult`, and ``srpipe eval --json`` prints this file.
Non-finite numbers (an HR image's PSNR against itself) are written as ``null`` so the
file is strict JSON that any parser accepts.

The per-item rows (every item's scores on every variant) live beside it in
``items.jsonl.gz`` (:mod:`srpipe.comparison.items`), which report.json's ``items`` names
with its sha256, so report.json stays a few tens of kilobytes for 50,000 items.
:func:`read_item_scores` reads them back, checked against that sha256; it also reads the
rows of a report written before the move (``format`` ``srpipe-comparison/1``, whose rows
sit inside report.json as ``item_scores``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srpipe.atomic import write_text
from srpipe.comparison.items import ITEMS_FILE, by_scale_and_variant, file_sha256, read_rows
from srpipe.errors import SrpipeError

if TYPE_CHECKING:
    from srpipe.comparison.results import ComparisonResult


def strict(value: Any) -> Any:
    """``value`` with NaN/inf replaced by None and numpy scalars made plain, recursively."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_text(result: ComparisonResult) -> str:
    """report.json's content as a string."""
    return json.dumps(strict(result.to_dict()), indent=2, allow_nan=False) + "\n"


def write_json_report(result: ComparisonResult, path: Path) -> Path:
    """Write report.json atomically; returns its path."""
    write_text(path, report_text(result))
    return Path(path)


def write_items_file(result: ComparisonResult, out: Path) -> Path:
    """Write the per-item rows to ``out/items.jsonl.gz`` atomically and record its sha256
    in ``result.items_file`` (report.json points to it); returns its path."""
    path = Path(out) / ITEMS_FILE
    result.items_file = {"file": ITEMS_FILE, "sha256": result.items.write(path)}
    return path


def iter_item_rows(report_path: str | Path) -> Iterator[dict[str, Any]]:
    """Every per-item row of a written report, one at a time, in report order.

    A row is ``scale`` (``"x4"``), ``variant``, ``id``, ``group``, ``psnr_vs_hr``,
    ``scores`` and, when the task describes it, ``prediction``. The items file is checked
    against the sha256 report.json records before a row is read.
    """
    report_path = Path(report_path)
    report = _read_report(report_path)
    if "item_scores" in report:  # a report from before the items file
        for scale, variants in report["item_scores"].items():
            for variant, rows in variants.items():
                for row in rows:
                    yield {"scale": scale, "variant": variant, **row}
        return
    items = report.get("items") or {}
    if not items.get("file"):
        raise SrpipeError(
            f"{report_path} names no items file (it was not written to a folder); write the "
            "report with srpipe eval -o DIR or srpipe.compare(..., out=DIR)"
        )
    path = report_path.parent / items["file"]
    if not path.is_file():
        raise SrpipeError(
            f"{path} is missing: keep it beside {report_path.name} (it holds the per-item rows)"
        )
    if items.get("sha256") and file_sha256(path) != items["sha256"]:
        raise SrpipeError(
            f"{path} does not match the sha256 in {report_path.name}: it belongs to another "
            "run; copy the two files together"
        )
    yield from read_rows(path)


def read_item_scores(report_path: str | Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every per-item row of a written report as ``{"x4": {variant: [row, ...]}}``.

    Each row is ``id``, ``group``, ``psnr_vs_hr``, ``scores`` (and ``prediction``), in item
    order. Example: ``read_item_scores("runs/det/report.json")["x4"]["edsr"][0]["scores"]``.
    """
    return by_scale_and_variant(iter_item_rows(report_path))


def _read_report(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SrpipeError(f"{path} does not exist; give the report.json of an eval") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SrpipeError(f"{path} is not a report.json ({exc}); give an eval's report") from None
