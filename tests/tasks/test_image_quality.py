"""`srpipe eval sr`: PSNR/SSIM through the harness, the protocol's numbers, the papers' table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from srpipe.api import compare
from srpipe.image.metrics import psnr, ssim
from srpipe.image.resize import degrade, modcrop, upscale_classic
from srpipe.plugins import get_plugin_manager
from srpipe.task import TaskContext
from srpipe.tasks.image_quality import ImageQualityTask
from srpipe.upscaling.cache import UpscaleCache
from tests.comparison.test_compare import write_pngs


@pytest.fixture
def hr_folder(tmp_path: Path) -> Path:
    return write_pngs(tmp_path / "Set3", n=3, size=(34, 40))


def test_registered_through_the_plugin_hook() -> None:
    assert get_plugin_manager().tasks()["sr"] is ImageQualityTask
    assert ImageQualityTask.evaluate_is_item_mean


def test_values_follow_the_protocol(hr_folder: Path, tmp_path: Path) -> None:
    result = compare(
        "sr",
        str(hr_folder),
        sr=[],
        compare=["bicubic"],
        scales=[3],
        bootstrap=20,
        cache=UpscaleCache(tmp_path / "c"),
    )
    from srpipe.image.io import read_image

    expected_psnr, expected_ssim = [], []
    for path in sorted(hr_folder.iterdir()):
        hr = modcrop(read_image(path), 3)
        up = upscale_classic(degrade(hr, 3), 3, "bicubic")
        expected_psnr.append(psnr(up, hr, shave=3))
        expected_ssim.append(ssim(up, hr, shave=3))
    # the dataset figure is the mean of per-image values (not the PSNR of the mean MSE)
    assert result.value("bicubic", "psnr", 3) == pytest.approx(np.mean(expected_psnr), abs=1e-9)
    assert result.value("bicubic", "ssim", 3) == pytest.approx(np.mean(expected_ssim), abs=1e-9)
    assert result.value("hr", "ssim", 3) == pytest.approx(1.0)
    assert result.value("hr", "psnr", 3) == float("inf")
    rows = result.item_scores()["x3"]["bicubic"]
    assert [r["scores"]["psnr"] for r in rows] == pytest.approx(expected_psnr)
    assert [r["psnr_vs_hr"] for r in rows] == pytest.approx(expected_psnr)


def test_evaluate_is_the_mean_of_item_scores(hr_folder: Path) -> None:
    task = ImageQualityTask()
    task.setup(TaskContext("eval"))
    dataset = task.load_dataset(str(hr_folder))
    assert all(item.image is None for item in dataset.items)  # read lazily
    items = [item.decoded() for item in dataset.items]
    for item in items:
        item.meta["scale"] = 2
        item.image = modcrop(item.image, 2)
    preds = [upscale_classic(degrade(i.image, 2), 2, "bicubic") for i in items]
    scores = [task.item_scores(p, i) for p, i in zip(preds, items)]
    assert task.evaluate(preds, items) == pytest.approx(
        {m: np.mean([s[m] for s in scores]) for m in ("psnr", "ssim")}
    )


def test_rgb_option_measures_rgb(hr_folder: Path, tmp_path: Path) -> None:
    kwargs = dict(
        sr=[], compare=["bicubic"], scales=[2], bootstrap=0, cache=UpscaleCache(tmp_path / "c")
    )
    y = compare("sr", str(hr_folder), **kwargs).value("bicubic", "psnr", 2)
    rgb = compare("sr", str(hr_folder), task_options={"rgb": True}, **kwargs)
    assert rgb.value("bicubic", "psnr", 2) != pytest.approx(y)


def test_paper_table_layout(hr_folder: Path, tmp_path: Path) -> None:
    result = compare(
        "sr",
        str(hr_folder),
        sr=[],
        compare=["nearest", "bicubic"],
        scales=[2, 4],
        bootstrap=0,
        cache=UpscaleCache(tmp_path / "c"),
    )
    table = result.paper_table()
    lines = table.splitlines()
    assert lines[0] == "| method | Set3 x2 (psnr/ssim) | Set3 x4 (psnr/ssim) |"
    bicubic = next(line for line in lines if line.startswith("| bicubic |"))
    cells = [c.strip() for c in bicubic.strip("|").split("|")][1:]
    p2, s2 = cells[0].split("/")
    assert float(p2) == pytest.approx(result.value("bicubic", "psnr", 2), abs=0.005)
    assert float(s2) == pytest.approx(result.value("bicubic", "ssim", 2), abs=0.00005)
    assert len(p2.split(".")[1]) == 2 and len(s2.split(".")[1]) == 4
    assert not any(line.startswith("| hr |") for line in lines)


def test_default_set_is_the_registry_sr_test_split_grouped_by_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from srpipe.data import sources

    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path / "empty-cache"))
    dataset = ImageQualityTask().load_dataset(None)  # built on first use
    assert dataset.name == "samples-test"
    expected = sorted(s.name for s in sources.for_task("sr"))
    assert sorted(i.group for i in dataset.items) == expected
    assert all(sources.get(i.group).role == sources.TEST for i in dataset.items)
    assert "never used to train or select" in dataset.description


def test_cli_end_to_end(hr_folder: Path, tmp_path: Path) -> None:
    from srpipe.cli import cli

    out = tmp_path / "out"
    run = CliRunner().invoke(
        cli,
        [
            "eval",
            "sr",
            "--data",
            str(hr_folder),
            "--sr",
            "none",
            "--compare",
            "bicubic,nearest",
            "--scale",
            "2",
            "--bootstrap",
            "50",
            "-o",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert run.exit_code == 0, run.output
    assert "x2 · psnr (higher is better)" in run.stdout
    assert "| method | Set3 x2 (psnr/ssim) |" in run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["paper_table"][0]["method"] == "nearest"
    assert {"report.html", "report.md", "report.json"} <= {p.name for p in out.iterdir()}


def test_paper_table_of_several_datasets(hr_folder: Path, tmp_path: Path) -> None:
    from srpipe.comparison.results import paper_table

    other = write_pngs(tmp_path / "Urban2", n=2, size=(40, 40))
    kwargs = dict(
        sr=[], compare=["bicubic"], scales=[2], bootstrap=0, cache=UpscaleCache(tmp_path / "c")
    )
    results = [compare("sr", str(folder), **kwargs) for folder in (hr_folder, other)]
    lines = paper_table(results).splitlines()
    assert lines[0] == "| method | Set3 x2 (psnr/ssim) | Urban2 x2 (psnr/ssim) |"
    cells = lines[2].strip("|").split("|")
    assert cells[0].strip() == "bicubic"
    assert float(cells[2].split("/")[0]) == pytest.approx(
        results[1].value("bicubic", "psnr", 2), abs=0.005
    )


def test_a_fetched_benchmark_is_found_by_name(tmp_path, monkeypatch) -> None:
    """`srpipe eval sr --data set5` reads the set that `srpipe data fetch set5` extracted."""
    import numpy as np

    from srpipe.data.registry import datasets_root, get_dataset
    from srpipe.image.io import write_image
    from srpipe.tasks.image_quality import ImageQualityTask

    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path))
    hr = datasets_root() / get_dataset("set5").hr_dir
    hr.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("baby", "bird"):
        write_image(hr / f"{name}.png", rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))
    dataset = ImageQualityTask().load_dataset("set5")
    assert dataset.name == "set5"
    assert [item.id for item in dataset.items] == ["baby", "bird"]
