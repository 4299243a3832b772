"""From rows to numbers: the plan, a variant's distributions, a scale's baseline."""

from __future__ import annotations

import numpy as np
import pytest

from srpipe.comparison.items import encode_row
from srpipe.comparison.results import VariantInfo
from srpipe.comparison.scoring import VariantRun
from srpipe.comparison.summary import Measurement, measure_variant, pick_baseline
from srpipe.errors import SrpipeError
from srpipe.task import Variant
from tests.comparison.test_compare import BrightnessTask, MeanBrightnessTask, make_dataset


class _Bar:
    def __init__(self, total: int, desc: str) -> None:
        self.total = total

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _run(task: BrightnessTask, n: int, drop: str | None = None) -> tuple[VariantRun, list]:
    """A variant's run on ``n`` items; ``drop``: a metric the item scores leave out."""
    items = make_dataset(n).items
    preds = [float(item.image.mean()) + 1.0 for item in items]
    rows = []
    for p, i in zip(preds, items):
        scores = {k: v for k, v in task.item_scores(p, i).items() if k != drop}
        row = {"id": i.id, "group": None, "psnr_vs_hr": 30.0, "scores": scores}
        rows.append(encode_row(2, "bicubic", row))
    return VariantRun(VariantInfo("bicubic", 2, "baseline"), preds, rows), items


def test_the_baseline_is_bicubic_when_it_ran() -> None:
    assert pick_baseline(["hr", "lr", "nearest", "bicubic", "edsr"]) == "bicubic"
    assert pick_baseline(["hr", "lr", "edsr"]) == "lr"
    assert pick_baseline(["hr"]) is None


@pytest.mark.parametrize("task", [BrightnessTask(), MeanBrightnessTask()])
def test_item_mean_and_dataset_metrics_give_the_same_numbers(task: BrightnessTask) -> None:
    run, items = _run(task, 6)
    dataset = make_dataset(6)
    measurement = Measurement.plan(task, dataset, bootstrap=30, seed=0, confidence=0.95)
    variant = Variant("bicubic", prepare=lambda hr, lr: hr)
    measured = measure_variant(task, run, variant, items, measurement, _Bar)
    assert measured.point["err"] == pytest.approx(1.0)
    # six items are fewer than 20 clusters: one jackknife resample per item
    assert measured.samples["err"].shape == (len(measurement.intervals.counts),) == (6,)
    np.testing.assert_allclose(measured.samples["err"], 1.0)
    assert measured.psnr_mean() == 30.0
    # the statistics read arrays, not rows
    assert measured.columns.scores["err"].shape == (6,) and measured.columns.psnr.dtype == float


def test_an_item_mean_task_without_item_scores_is_one_line() -> None:
    task = MeanBrightnessTask()
    run, items = _run(task, 3, drop="bright")
    measurement = Measurement.plan(task, make_dataset(3), bootstrap=0, seed=0, confidence=0.95)
    with pytest.raises(
        SrpipeError, match=r"evaluate_is_item_mean but item_scores\(\) gave no bright"
    ):
        measure_variant(
            task, run, Variant("x", prepare=lambda hr, lr: hr), items, measurement, _Bar
        )


def test_a_task_without_metrics_is_refused() -> None:
    task = BrightnessTask()
    task.metrics = ()
    with pytest.raises(SrpipeError, match="declares no metrics"):
        Measurement.plan(task, make_dataset(2), bootstrap=0, seed=0, confidence=0.95)
