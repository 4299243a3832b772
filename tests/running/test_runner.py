"""The run loop as a Python API: `srpipe.run` and its records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from srpipe.errors import SrpipeError
from srpipe.running.runner import _merge_rows

COUNTER = """
from srpipe import hookimpl
from srpipe.task import Task

class Brightest(Task):
    name = "brightest"
    summary = "position of the brightest pixel"

    def predict(self, images):
        out = []
        for image in images:
            y, x = divmod(int(image.sum(axis=2).argmax()), image.shape[1])
            out.append((x, y))
        return out

    def rescale(self, prediction, factor):
        return (prediction[0] * factor, prediction[1] * factor)

    def records(self, prediction):
        return [{"x": prediction[0], "y": prediction[1], "kind": "peak"}]

@hookimpl
def srpipe_register_tasks():
    return [Brightest]
"""


def _pictures(folder: Path) -> Path:
    from srpipe.image.io import write_image

    folder.mkdir()
    for i in range(2):
        image = np.zeros((12, 16, 3), np.uint8)
        image[3 + i, 5 + i] = 255
        write_image(folder / f"img{i}.png", image)
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


def test_run_api_writes_records_and_lists_bad_files(third_party, tmp_path: Path) -> None:
    import srpipe

    third_party("tp-bright", {"tp_bright": COUNTER}, {"brightest": "tp_bright"})
    folder = _pictures(tmp_path / "in")
    out = tmp_path / "out"
    with pytest.raises(SrpipeError, match=r"1 input\(s\) failed.*broken\.png"):
        srpipe.run("brightest", folder, sr="nearest", scale=2, out=out)
    records = json.loads((out / "records.json").read_text())
    assert [r["input"] for r in records] == ["img0.png", "img1.png"]
    # nearest x2 puts the peak at 2*x (top-left of the 2x2 block); input coords are halved back
    assert records[0]["x"] == 5 and records[0]["x_sr"] == 10
    assert "kind_sr" not in records[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 2 and summary["failed"][0]["input"] == "broken.png"


def test_moved_fields_are_decided_over_the_whole_run() -> None:
    pairs = [({"x": 0, "c": 1}, {"x": 0, "c": 1}), ({"x": 3, "c": 1}, {"x": 12, "c": 1})]
    merged = _merge_rows(pairs)
    assert merged[0] == {"x": 0, "c": 1, "x_sr": 0}
    assert merged[1] == {"x": 3, "c": 1, "x_sr": 12}
