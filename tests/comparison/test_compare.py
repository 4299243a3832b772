"""The comparison harness on toy tasks: variants, scales, chunking, cache, hooks, API == CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from srpipe.api import compare
from srpipe.comparison.harness import Comparison
from srpipe.errors import UsageError
from srpipe.hookspecs import hookimpl
from srpipe.image.resize import degrade
from srpipe.plugins import get_plugin_manager
from srpipe.report import read_item_scores
from srpipe.task import Dataset, Item, Task, Variant
from srpipe.upscaling.cache import UpscaleCache, image_digest
from tests.conftest import load_script


class BrightnessTask(Task):
    """Predicts an image's mean brightness; the error against HR's brightness is the metric."""

    name = "brightness"
    metrics = ("err", "bright")
    lower_is_better = frozenset({"err"})

    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict(self, images: Sequence[np.ndarray]) -> list[float]:
        self.batches.append(len(images))
        return [float(img.mean()) for img in images]

    def item_scores(self, prediction: float, item: Item) -> dict[str, float]:
        return {"err": abs(prediction - float(item.image.mean())), "bright": prediction}

    def evaluate(self, predictions: Sequence[Any], items: Sequence[Item]) -> dict[str, float]:
        scores = [self.item_scores(p, i) for p, i in zip(predictions, items)]
        return {m: float(np.mean([s[m] for s in scores])) for m in self.metrics}


class MeanBrightnessTask(BrightnessTask):
    evaluate_is_item_mean: ClassVar[bool] = True


class NoRescaleTask(BrightnessTask):
    def rescale(self, prediction: Any, factor: float) -> Any:
        raise NotImplementedError


class OracleUpscaler:
    """A fake SR model that "restores" the exact HR image (looked up by the LR's pixels)."""

    method = name = "oracle"
    weights_hash = "0" * 64

    def __init__(self, items: Sequence[Item], scale: int) -> None:
        from srpipe.image.resize import modcrop

        self.scale = scale
        self.table = {}
        for item in items:
            hr = modcrop(item.image, scale)
            self.table[image_digest(degrade(item.image, scale))] = hr
        self.seen_shapes: list[tuple[int, ...]] = []

    def upscale_batch(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.seen_shapes += [img.shape for img in images]
        return [self.table[image_digest(img)].copy() for img in images]


def make_dataset(n: int = 5, size: tuple[int, int] = (26, 31), groups: bool = False) -> Dataset:
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
        base = 128 + 90 * np.sin(xx * (0.5 + 0.2 * i)) * np.cos(yy * 0.7)
        img = np.clip(base[..., None] + rng.normal(0, 20, (*size, 3)), 0, 255).astype(np.uint8)
        items.append(Item(id=f"im{i}", image=img, group=f"g{i // 2}" if groups else None))
    return Dataset("toy", items, description="synthetic stripes")


@pytest.fixture
def cache(tmp_path: Path) -> UpscaleCache:
    return UpscaleCache(tmp_path / "cache")


def test_variants_scales_and_item_scores(cache: UpscaleCache) -> None:
    data = make_dataset()
    sr = [OracleUpscaler(data.items, 2), OracleUpscaler(data.items, 3)]
    task = BrightnessTask()
    result = Comparison(
        task,
        data,
        sr=sr,
        compare=["bicubic", "lr", "nearest"],
        scales=[2, 3],
        bootstrap=50,
        cache=cache,
        n_crops=0,
    ).run()
    assert result.scales == [2, 3]
    for scale in (2, 3):
        assert result.variant_names(scale) == ["hr", "lr", "nearest", "bicubic", "oracle"]
        for name in result.variant_names(scale):
            rows = result.item_scores()[f"x{scale}"][name]
            assert [r["id"] for r in rows] == [f"im{i}" for i in range(5)]
            assert all(set(r["scores"]) == {"err", "bright"} for r in rows)
    # each upscaler ran only at its own scale, on LR images of the modcropped HR
    assert set(sr[0].seen_shapes) == {(13, 15, 3)}
    assert set(sr[1].seen_shapes) == {(8, 10, 3)}
    # the oracle "SR" is HR itself: zero error, the whole gap recovered
    assert result.value("oracle", "err", 2) == 0.0 == result.value("hr", "err", 2)
    assert result.baseline == {2: "bicubic", 3: "bicubic"}
    assert result.comparison("oracle", "err", 2).gap.value == pytest.approx(1.0)
    # brightness error barely depends on resolution: with 5 items even HR is not significantly
    # better than bicubic, so no verdict on the (perfect) oracle SR can be given
    assert len(result.verdicts) == 2
    assert result.verdicts[0].startswith("no verdict on oracle x2: HR vs bicubic on err is ")
    assert "not significant" in result.verdicts[0] and "k = 5 clusters" in result.verdicts[0]
    assert result.power[2]["answerable"] is False and result.power[2]["more_data"]
    assert result.settings["intervals"]["method"] == "jackknife-t"
    # PSNR vs HR is measured by the harness for every HR-sized variant
    assert result.psnr[2]["hr"] is None and result.psnr[2]["lr"] is None
    assert result.psnr[2]["bicubic"] > result.psnr[2]["nearest"] > 0


class PixelErrorTask(BrightnessTask):
    """Mean absolute pixel error against HR: a metric that resolution clearly moves."""

    metrics = ("err",)

    def predict(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(img, dtype=np.float64) for img in images]

    def item_scores(self, prediction: np.ndarray, item: Item) -> dict[str, float]:
        return {"err": float(np.abs(prediction - item.image).mean())}


def test_verdicts_follow_the_power_of_the_set(cache: UpscaleCache) -> None:
    data = make_dataset()
    result = Comparison(
        PixelErrorTask(),
        data,
        sr=[OracleUpscaler(data.items, 2)],
        compare=["bicubic"],
        scales=[2],
        bootstrap=50,
        cache=cache,
        n_crops=0,
    ).run()
    hr = result.comparison("hr").delta
    assert hr.method == "jackknife-t" and hr.k == 5 and hr.high < 0  # HR clearly better
    assert result.power[2] == {
        "answerable": True,
        "metric": "err",
        "reason": None,
        "more_data": None,
    }
    (line,) = result.verdicts
    assert line.startswith("oracle x2 recovers 100% [100%, 100%] of the err lost to x2 ")
    assert line.endswith("err vs bicubic; jackknife t, k = 5 clusters)")


def test_item_mean_flag_gives_the_same_numbers_as_evaluate(cache: UpscaleCache) -> None:
    data = make_dataset(6, groups=True)
    kwargs = dict(
        sr=[],
        compare=["bicubic", "nearest"],
        scales=[2],
        bootstrap=200,
        seed=3,
        cache=cache,
        n_crops=0,
    )
    looped = Comparison(BrightnessTask(), data, **kwargs).run()
    vector = Comparison(MeanBrightnessTask(), data, **kwargs).run()
    assert looped.settings["evaluate_is_item_mean"] is False
    assert vector.settings["evaluate_is_item_mean"] is True
    assert looped.settings["bootstrap_kind"] == "cluster"
    for a, b in zip(looped.results(), vector.results()):
        for part in ("value", "delta", "gap_recovered"):
            if a[part] is None:
                assert b[part] is None
                continue
            for key in ("value", "low", "high"):
                assert a[part][key] == pytest.approx(b[part][key], abs=1e-9)


def test_items_are_processed_in_chunks(cache: UpscaleCache) -> None:
    task = BrightnessTask()
    Comparison(
        task,
        make_dataset(5),
        sr=[],
        compare=["bicubic"],
        scales=[2],
        bootstrap=10,
        cache=cache,
        chunk_size=2,
        n_crops=0,
    ).run()
    assert max(task.batches) <= 2 and sum(task.batches) == 5 * 2  # hr + bicubic


def test_hr_is_predicted_once_when_modcrop_keeps_it(cache: UpscaleCache) -> None:
    task = BrightnessTask()
    data = make_dataset(3, size=(24, 36))  # a multiple of 2, 3 and 4: HR is the same image
    result = Comparison(
        task,
        data,
        sr=[],
        compare=["bicubic"],
        scales=[2, 3, 4],
        bootstrap=10,
        cache=cache,
        n_crops=0,
    ).run()
    assert sum(task.batches) == 3 * (1 + 3)  # HR once, bicubic at each scale
    assert result.value("hr", "err", 4) == 0.0
    task = BrightnessTask()
    Comparison(
        task,
        make_dataset(3, size=(26, 36)),
        sr=[],
        compare=["bicubic"],
        scales=[2, 4],
        bootstrap=10,
        cache=cache,
        n_crops=0,
    ).run()
    assert sum(task.batches) == 3 * (2 + 2)  # modcrop changed HR: predicted per scale


def test_lr_variant_skipped_with_a_note_when_task_cannot_rescale(cache: UpscaleCache) -> None:
    result = Comparison(
        NoRescaleTask(),
        make_dataset(3),
        sr=[],
        compare=["lr", "bicubic"],
        scales=[2],
        bootstrap=10,
        cache=cache,
        n_crops=0,
    ).run()
    assert result.variant_names(2) == ["hr", "bicubic"]
    assert any("'lr' skipped" in note for note in result.notes)


def test_no_baseline_means_no_deltas(cache: UpscaleCache) -> None:
    data = make_dataset(3)
    result = Comparison(
        BrightnessTask(),
        data,
        sr=[OracleUpscaler(data.items, 2)],
        compare=[],
        scales=[2],
        bootstrap=10,
        cache=cache,
        n_crops=0,
    ).run()
    assert result.baseline[2] is None
    assert result.comparison("oracle").delta is None
    assert "no baseline" in result.verdicts[0]


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown baseline 'edsr'"):
        Comparison(BrightnessTask(), make_dataset(2), compare=["edsr"], scales=[2])
    with pytest.raises(UsageError, match="at least 2"):
        Comparison(BrightnessTask(), make_dataset(2), compare=["bicubic"], scales=[1])


class _Plugin:
    """A plugin adding a variant and observing the pipeline."""

    def __init__(self) -> None:
        self.scored: list[tuple[str, str]] = []
        self.upscaled: list[tuple[str, str, int]] = []
        self.written: list[tuple[Path, str]] = []

    @hookimpl
    def srpipe_add_variants(self, task: Task, scale: int) -> list[Variant]:
        from srpipe.image.resize import upscale_classic

        def sharpened(hr: np.ndarray, lr: np.ndarray) -> np.ndarray:
            up = upscale_classic(lr, scale, "bicubic").astype(np.int16)
            blur = upscale_classic(lr, scale, "bilinear").astype(np.int16)
            return np.clip(up + (up - blur), 0, 255).astype(np.uint8)

        return [Variant("sharpened", prepare=sharpened)]

    @hookimpl
    def srpipe_item_scored(
        self, task_name: str, variant: str, item_id: str, scores: dict[str, float]
    ) -> None:
        self.scored.append((variant, item_id))

    @hookimpl
    def srpipe_item_upscaled(self, item_id: str, method: str, scale: int, seconds: float) -> None:
        self.upscaled.append((item_id, method, scale))

    @hookimpl
    def srpipe_report_written(self, path: Path, kind: str) -> None:
        self.written.append((path, kind))


@pytest.fixture
def plugin() -> Any:
    manager = get_plugin_manager()
    obj = _Plugin()
    manager.register(obj, name="test-compare-plugin")
    yield obj
    manager.unregister(obj)


def test_plugin_variants_and_observers(plugin: _Plugin, cache: UpscaleCache) -> None:
    data = make_dataset(4)
    result = Comparison(
        BrightnessTask(),
        data,
        sr=[OracleUpscaler(data.items, 2)],
        compare=["bicubic"],
        scales=[2],
        bootstrap=20,
        cache=cache,
        n_crops=0,
    ).run()
    infos = {i.name: i for i in result.variants[2]}
    assert infos["sharpened"].kind == "task"
    assert result.variant_names(2)[-1] == "sharpened"
    assert any("sharpened x2" in v for v in result.verdicts)
    assert len(plugin.scored) == 4 * 4  # hr, bicubic, oracle, sharpened
    # bicubic is always computed; the oracle SR is reported only when not read from the cache
    assert sum(1 for _, method, _ in plugin.upscaled if method == "bicubic") == 4
    assert sum(1 for _, method, _ in plugin.upscaled if method == "oracle") == 4


def test_report_files_are_announced(plugin: _Plugin, tmp_path: Path, cache: UpscaleCache) -> None:
    from srpipe.report import write_reports

    result = Comparison(
        BrightnessTask(),
        make_dataset(3),
        sr=[],
        compare=["bicubic"],
        scales=[2],
        bootstrap=10,
        cache=cache,
        n_crops=0,
    ).run()
    files = write_reports(result, tmp_path / "out")
    assert sorted(p for p, _ in plugin.written) == sorted(files.values())
    assert {"json", "markdown", "html", "png", "jsonl.gz"} == {kind for _, kind in plugin.written}


def tiny_upscaler(scale: int) -> Any:
    """A real Upscaler around a tiny torch module that counts its forward passes."""
    import torch
    from torch import nn

    from srpipe.upscaling.upscaler import Upscaler

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)
            with torch.no_grad():
                self.conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
                self.conv.bias.zero_()
            self.calls = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls += x.shape[0]
            return nn.functional.interpolate(self.conv(x), scale_factor=scale, mode="nearest")

    module = Tiny()
    up = Upscaler.from_module(module, scale, name="tiny", weights_hash="t" * 64, device="cpu")
    return up, module


def test_sr_cache_hit_on_rerun_avoids_recomputation(cache: UpscaleCache) -> None:
    data = make_dataset(3)
    up, module = tiny_upscaler(2)
    first = Comparison(
        BrightnessTask(),
        data,
        sr=[up],
        compare=["bicubic"],
        scales=[2],
        bootstrap=10,
        cache=cache,
        n_crops=0,
    ).run()
    computed = module.calls
    assert computed >= 3
    second = Comparison(
        BrightnessTask(),
        data,
        sr=[up],
        compare=["bicubic"],
        scales=[2],
        bootstrap=10,
        cache=cache,
        n_crops=0,
    ).run()
    assert module.calls == computed  # every SR image came from the disk cache
    info = {i.name: i for i in second.variants[2]}["tiny"]
    assert info.cache_hits == 3 and info.weights_hash == "t" * 64
    assert first.results() == second.results()
    # a nearest-upsampling "model" equals MATLAB's nearest at an integer scale
    assert first.value("tiny", "bright", 2) == pytest.approx(
        Comparison(
            BrightnessTask(),
            data,
            sr=[],
            compare=["nearest"],
            scales=[2],
            bootstrap=0,
            cache=cache,
            n_crops=0,
        )
        .run()
        .value("nearest", "bright", 2),
        abs=0.05,
    )


def write_pngs(folder: Path, n: int = 4, size: tuple[int, int] = (30, 36)) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for item in make_dataset(n, size).items:
        cv2.imwrite(str(folder / f"{item.id}.png"), item.image[:, :, ::-1])
    return folder


def test_python_api_gives_the_cli_numbers(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from srpipe.cli import cli
    from srpipe.report.json_report import strict

    data = write_pngs(tmp_path / "hr")
    out = tmp_path / "out"
    args = [
        "eval",
        "sr",
        "--data",
        str(data),
        "--sr",
        "none",
        "--compare",
        "bicubic,nearest",
        "--scale",
        "2,3",
        "--bootstrap",
        "100",
        "--seed",
        "5",
        "-o",
        str(out),
        "--json",
    ]
    run = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert run.exit_code == 0, run.output
    printed = json.loads(run.stdout)
    report = json.loads((out / "report.json").read_text())
    assert printed == report
    assert report["settings"]["command"].startswith("srpipe ")
    api = compare(
        "sr", str(data), sr=[], compare=["bicubic", "nearest"], scales=[2, 3], bootstrap=100, seed=5
    )
    assert strict(api.results()) == report["results"]
    assert api.verdicts == report["verdicts"]
    assert strict(api.item_scores()) == read_item_scores(out / "report.json")


def test_example_plugin_through_the_harness(
    tmp_path: Path, example_plugin_dir: Path, cache: UpscaleCache
) -> None:
    """The one-file example task (docs) gets every variant, lr included, and annotated crops."""
    module = load_script(example_plugin_dir / "srpipe_sharpness.py", "srpipe_sharpness_example")
    data = write_pngs(tmp_path / "photos", n=3, size=(48, 64))
    up, _ = tiny_upscaler(2)
    result = compare(
        module.SharpnessTask,
        str(data),
        sr=[up],
        compare=["lr", "bicubic"],
        scales=[2],
        bootstrap=50,
        out=tmp_path / "out",
        cache=cache,
    )
    assert result.variant_names(2) == ["hr", "lr", "bicubic", "tiny"]
    assert result.settings["evaluate_is_item_mean"] is False  # the generic evaluate path
    assert result.value("hr", "edge_f1", 2) == pytest.approx(1.0)
    assert result.value("bicubic", "edge_f1", 2) < 1.0
    assert len(result.verdicts) == 1 and result.verdicts[0].startswith("tiny x2")
    crop = result.crops[0]
    hr_panel = crop.panels[0][1]
    assert ((hr_panel == (255, 0, 0)).all(axis=2)).any()  # the plugin's edges, drawn in red
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [v["name"] for v in report["variants"]] == ["hr", "lr", "bicubic", "tiny"]


def test_srpipe_compare_is_callable_whatever_the_import_order(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = write_pngs(tmp_path / "hr", n=2)
    code = (
        "import srpipe\n"
        # binds the submodule srpipe.comparison.harness (and its parents) on srpipe
        "from srpipe.comparison.harness import Comparison\n"
        f"r = srpipe.compare('sr', {str(data)!r}, sr=[], scales=[2], bootstrap=0)\n"
        "print(r.variant_names(2))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['hr', 'bicubic']"


def _classes(n_per: dict[str, int]) -> list[Item]:
    """A sorted folder's worth of items: all of class a, then all of b, ..."""
    tiny = np.zeros((4, 4, 3), np.uint8)
    return [
        Item(f"{label}{k}", tiny, meta={"stratum": label})
        for label, n in n_per.items()
        for k in range(n)
    ]


def test_limit_is_a_seeded_sample_balanced_over_strata() -> None:
    from srpipe.api import balanced_subset

    items = _classes({"a": 10, "b": 10, "c": 3})
    chosen, strata = balanced_subset(items, 9, seed=0)
    assert strata == 3
    labels = [i.meta["stratum"] for i in chosen]
    assert sorted(labels.count(c) for c in "abc") == [3, 3, 3]
    assert [i.id for i in chosen] == [i.id for i in items if i in chosen]  # dataset order
    again, _ = balanced_subset(items, 9, seed=0)
    assert [i.id for i in again] == [i.id for i in chosen]
    other, _ = balanced_subset(items, 9, seed=1)
    assert [i.id for i in other] != [i.id for i in chosen]
    # a small stratum runs out: the others fill the rest, evenly
    chosen, _ = balanced_subset(items, 15, seed=0)
    labels = [i.meta["stratum"] for i in chosen]
    assert (labels.count("a"), labels.count("b"), labels.count("c")) == (6, 6, 3)


def test_limit_balances_over_groups_and_is_recorded() -> None:
    from srpipe.api import load_dataset

    dataset = make_dataset(n=8, groups=True)  # groups g0..g3, two items each
    limited = load_dataset(BrightnessTask(), dataset, limit=4, seed=5)
    assert len({i.group for i in limited.items}) == 4
    assert limited.meta["limited_from"] == 8
    assert limited.meta["limit_sample"] == "seeded (5), balanced over 4 strata"


class DescribedTask(MeanBrightnessTask):
    def describe(self, prediction: float) -> dict[str, float]:
        return {"brightness": np.float32(prediction)}  # numpy scalars are made plain


def test_per_item_predictions_are_kept_in_the_report(cache: UpscaleCache) -> None:
    result = compare(
        DescribedTask(), make_dataset(3), sr=[], compare=["bicubic"], scales=[2],
        bootstrap=20, cache=cache,
    )  # fmt: skip
    rows = result.item_scores()["x2"]["bicubic"]
    assert [r["id"] for r in rows] == ["im0", "im1", "im2"]
    for row in rows:
        assert row["prediction"]["brightness"] == pytest.approx(row["scores"]["bright"], abs=1e-3)
    json.dumps(result.to_dict())
    # a task that describes nothing keeps nothing
    plain = compare(MeanBrightnessTask(), make_dataset(3), sr=[], compare=["bicubic"], scales=[2],
                    bootstrap=20, cache=cache)  # fmt: skip
    assert "prediction" not in plain.item_scores()["x2"]["bicubic"][0]
