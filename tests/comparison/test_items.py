"""Per-item rows: encoded as JSON lines, spooled, written as a reproducible gzip file."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np

from srpipe.comparison.items import ItemColumns, ItemStream, encode_row, read_rows


def test_columns_keep_infinite_scores_and_the_file_writes_them_as_null(tmp_path: Path) -> None:
    rows = [
        encode_row(4, "hr", {"id": "a", "group": "g", "psnr_vs_hr": None,
                             "scores": {"psnr": math.inf, "extra": 1.0}}),
        encode_row(4, "hr", {"id": "b", "group": "g", "psnr_vs_hr": 31.5,
                             "scores": {"psnr": np.float32(28.25), "ssim": math.nan}}),
    ]  # fmt: skip
    columns = ItemColumns.from_rows(rows, ["psnr", "ssim"])
    assert columns.scores["psnr"].tolist() == [math.inf, 28.25]  # a mean over items sees inf
    assert np.isnan(columns.scores["ssim"]).all()  # absent and NaN alike: undefined
    np.testing.assert_array_equal(columns.psnr, [np.nan, 31.5])
    stream = ItemStream()
    stream.append(rows)
    stream.write(tmp_path / "items.jsonl.gz")
    text = gzip.decompress((tmp_path / "items.jsonl.gz").read_bytes()).decode()
    assert "Infinity" not in text and "NaN" not in text  # strict JSON, like report.json
    back = list(read_rows(tmp_path / "items.jsonl.gz"))
    assert back[0]["scores"] == {"psnr": None, "extra": 1.0}
    assert back[1] == {
        "scale": "x4", "variant": "hr", "id": "b", "group": "g", "psnr_vs_hr": 31.5,
        "scores": {"psnr": 28.25, "ssim": None},
    }  # fmt: skip
    assert [json.loads(json.dumps(r)) for r in stream] == back


def test_the_same_rows_give_the_same_bytes(tmp_path: Path) -> None:
    digests = []
    for name in ("a.jsonl.gz", "b.jsonl.gz"):
        stream = ItemStream()
        stream.append(encode_row(2, "v", {"id": str(i), "scores": {}}) for i in range(50))
        digests.append(stream.write(tmp_path / name))
        assert stream.rows == 50
    assert digests[0] == digests[1]
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_interleaved_reads_of_the_spool_do_not_move_each_other(tmp_path: Path) -> None:
    # a plugin may iterate the rows while something else reads or writes them: each
    # iteration keeps its own place
    stream = ItemStream()
    stream.append(encode_row(2, "hr", {"id": str(i), "scores": {"psnr": float(i)}})
                  for i in range(3000))  # fmt: skip
    first, second = iter(stream), iter(stream)
    pairs = [(next(first)["id"], next(second)["id"]) for _ in range(1500)]
    assert pairs == [(str(i), str(i)) for i in range(1500)]
    stream.write(tmp_path / "items.jsonl.gz")  # in between: reads from the start
    assert [row["id"] for row in first] == [str(i) for i in range(1500, 3000)]
    assert sum(1 for _ in read_rows(tmp_path / "items.jsonl.gz")) == 3000
    stream.close()
