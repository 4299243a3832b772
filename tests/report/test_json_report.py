"""report.json points to its items file; read_item_scores reads the per-item rows back."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from pathlib import Path

import pytest

from srpipe.api import compare
from srpipe.errors import SrpipeError
from srpipe.report import iter_item_rows, read_item_scores
from srpipe.upscaling.cache import UpscaleCache
from tests.comparison.test_compare import BrightnessTask, make_dataset


def _eval(n: int, out: Path, cache: UpscaleCache, groups: bool = True) -> Path:
    compare(
        BrightnessTask(), make_dataset(n, size=(16, 18), groups=groups), sr=[],
        compare=["bicubic", "nearest"], scales=[2], bootstrap=30, n_crops=0, cache=cache, out=out,
    )  # fmt: skip
    return out / "report.json"


@pytest.fixture
def cache(tmp_path: Path) -> UpscaleCache:
    return UpscaleCache(tmp_path / "cache")


def test_items_file_holds_every_row_and_report_names_it(tmp_path: Path, cache) -> None:
    path = _eval(6, tmp_path / "out", cache)
    report = json.loads(path.read_text())
    items = report["items"]
    data = (path.parent / items["file"]).read_bytes()
    assert items["sha256"] == hashlib.sha256(data).hexdigest()
    lines = [json.loads(line) for line in gzip.decompress(data).splitlines()]
    assert items["rows"] == len(lines) == 3 * 6  # hr, nearest, bicubic x 6 items
    assert [(r["scale"], r["variant"]) for r in lines[::6]] == [
        ("x2", "hr"), ("x2", "nearest"), ("x2", "bicubic")
    ]  # fmt: skip
    scores = read_item_scores(path)
    rows = scores["x2"]["bicubic"]
    assert [r["id"] for r in rows] == [f"im{i}" for i in range(6)]
    assert set(rows[0]) == {"id", "group", "psnr_vs_hr", "scores"}
    # the per-item numbers give the report's values: err is their mean
    value = next(
        r["value"]["value"]
        for r in report["results"]
        if r["variant"] == "bicubic" and r["metric"] == "err"
    )
    assert math.isclose(sum(r["scores"]["err"] for r in rows) / 6, value, rel_tol=1e-12)
    assert len(list(iter_item_rows(path))) == 18


def test_report_json_does_not_grow_with_the_number_of_items(tmp_path: Path, cache) -> None:
    small = _eval(10, tmp_path / "small", cache).read_text()
    large = _eval(200, tmp_path / "large", cache).read_text()
    items_small = (tmp_path / "small" / "items.jsonl.gz").stat().st_size
    items_large = (tmp_path / "large" / "items.jsonl.gz").stat().st_size
    assert items_large > 5 * items_small  # the rows went to the items file
    # what differs is digits and counts (items, groups, the item count in text), not rows
    assert abs(len(large) - len(small)) < 200, (len(small), len(large))


def test_a_missing_or_foreign_items_file_is_one_line(tmp_path: Path, cache) -> None:
    path = _eval(4, tmp_path / "a", cache)
    other = _eval(5, tmp_path / "b", cache)
    (path.parent / "items.jsonl.gz").write_bytes((other.parent / "items.jsonl.gz").read_bytes())
    with pytest.raises(SrpipeError, match="does not match the sha256") as err:
        read_item_scores(path)
    assert "\n" not in str(err.value)
    (path.parent / "items.jsonl.gz").unlink()
    with pytest.raises(SrpipeError, match=r"is missing: keep it beside report\.json"):
        read_item_scores(path)
    with pytest.raises(SrpipeError, match="does not exist"):
        read_item_scores(tmp_path / "nothing.json")


def test_a_report_from_before_the_items_file_is_read_as_it_was(tmp_path: Path) -> None:
    rows = [{"id": "a", "group": None, "psnr_vs_hr": 30.0, "scores": {"m": 1.0}}]
    old = {"format": "srpipe-comparison/1", "item_scores": {"x4": {"bicubic": rows}}}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(old))
    assert read_item_scores(path) == {"x4": {"bicubic": rows}}


def test_a_result_not_written_anywhere_names_no_file(cache) -> None:
    result = compare(
        BrightnessTask(), make_dataset(3), sr=[], compare=["bicubic"], scales=[2],
        bootstrap=0, n_crops=0, cache=cache,
    )  # fmt: skip
    assert result.to_dict()["items"]["file"] is None
    assert [r["id"] for r in result.item_scores()["x2"]["hr"]] == ["im0", "im1", "im2"]
