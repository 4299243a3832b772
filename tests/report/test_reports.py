"""The report files: strict JSON, Markdown, self-contained HTML with embedded plots and crops."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from srpipe.comparison.harness import Comparison
from srpipe.comparison.results import ComparisonResult
from srpipe.report import write_reports
from srpipe.upscaling.cache import UpscaleCache
from tests.comparison.test_compare import BrightnessTask, OracleUpscaler, make_dataset


class BoxTask(BrightnessTask):
    """Brightness, plus a drawn frame: shows that crops carry the task's annotations."""

    def draw(self, image: np.ndarray, prediction: Any) -> np.ndarray:
        canvas = image.copy()
        canvas[0, :] = canvas[-1, :] = canvas[:, 0] = canvas[:, -1] = (255, 0, 0)
        return canvas


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> ComparisonResult:
    data = make_dataset(5, size=(40, 44))
    cache = UpscaleCache(tmp_path_factory.mktemp("cache"))
    sr = [OracleUpscaler(data.items, 2), OracleUpscaler(data.items, 4)]
    return Comparison(
        BoxTask(),
        data,
        sr=sr,
        compare=["bicubic", "nearest"],
        scales=[2, 4],
        bootstrap=50,
        cache=cache,
        n_crops=2,
    ).run()


@pytest.fixture(scope="module")
def written(result: ComparisonResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_reports(result, out)
    return out


def test_every_file_is_written(written: Path) -> None:
    names = sorted(str(p.relative_to(written)) for p in written.rglob("*") if p.is_file())
    assert {"report.json", "items.jsonl.gz", "report.md", "report.html"} <= set(names)
    assert "plots/err_per_variant.png" in names and "plots/bright_per_variant.png" in names
    assert "plots/psnr_vs_err.png" in names
    assert "plots/err_vs_scale.png" in names  # two scales ran
    assert sum(n.startswith("crops/") for n in names) == 4  # 2 items x 2 scales
    assert not [n for n in names if Path(n).name.startswith(".")]  # no temp files left
    for name in names:
        if name.endswith(".png"):
            assert (written / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_is_strict_and_complete(written: Path, result: ComparisonResult) -> None:
    def no_constants(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    report = json.loads((written / "report.json").read_text(), parse_constant=no_constants)
    assert report["task"] == {
        "name": "brightness",
        "metrics": ["err", "bright"],
        "headline": "err",
        "lower_is_better": ["err"],
    }
    assert report["scales"] == [2, 4]
    assert report["settings"]["bootstrap"] == 50 and report["settings"]["seed"] == 0
    assert report["environment"]["numpy"] == np.__version__
    assert {v["weights_hash"] for v in report["variants"] if v["kind"] == "sr"} == {"0" * 64}
    assert len(report["results"]) == 2 * 4 * 2  # scales x variants x metrics
    assert "item_scores" not in report  # the rows are in the items file it names
    assert report["items"]["file"] == "items.jsonl.gz" == report["files"]["items"]
    assert report["items"]["rows"] == 2 * 4 * 5  # scales x variants x items
    assert report["verdicts"] == result.verdicts
    assert report["files"]["html"] == "report.html"
    # HR's PSNR against itself is infinite: written as null, not Infinity
    hr = next(r for r in report["results"] if r["variant"] == "hr")
    assert hr["psnr_vs_hr"] is None


def test_html_is_self_contained(written: Path) -> None:
    page = (written / "report.html").read_text()
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    pngs = list(written.rglob("*.png"))
    assert len(images) == len(pngs) > 0
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert "recovers 100%" in page  # the verdicts are there
    assert page.count("<table>") >= 2 * 2


def test_markdown_has_tables_verdicts_and_links(written: Path) -> None:
    text = (written / "report.md").read_text()
    assert "## Verdicts" in text and "oracle x2 recovers 100%" in text
    assert "| variant | kind | value [95% CI] | Δ vs bicubic [95% CI] | gap recovered |" in text
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (written / link).exists()


def test_terminal_table(result: ComparisonResult) -> None:
    table = result.table()
    assert "x2 · err (lower is better)" in table and "x4 · bright (higher is better)" in table
    assert "Verdicts:" in table and table.count("oracle x") >= 2


def test_crops_show_the_task_annotations(result: ComparisonResult) -> None:
    crop = result.crops[0]
    assert [label for label, _, _ in crop.panels] == ["HR", "bicubic", "oracle"]
    for _, image, _ in crop.panels:
        assert image.shape[:2] == (40, 44)  # smaller than the window: the whole image
        assert tuple(image[0, 0]) == (255, 0, 0)  # BoxTask.draw's frame
