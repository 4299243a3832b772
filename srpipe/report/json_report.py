"""report.json: every number, setting and version of a comparison, machine-readable.

It is the single source of truth: report.md and report.html are views of the same
:class:`~srpipe.comparison.results.ComparisonResult`, and ``srpipe eval --json`` prints this file.
Non-finite numbers (an HR image's PSNR against itself) are written as ``null`` so the
file is strict JSON that any parser accepts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srpipe.atomic import write_text

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
