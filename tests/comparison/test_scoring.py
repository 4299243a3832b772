"""Scoring one variant: a row per item, HR predicted once for every scale, rescale or skip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from srpipe.comparison.degraded import DegradedSet
from srpipe.comparison.journal import Journal
from srpipe.comparison.scoring import VariantScorer
from srpipe.comparison.variants import variants_at
from srpipe.errors import SrpipeError
from srpipe.task import Item, Task
from srpipe.upscaling.cache import UpscaleCache
from tests.comparison.test_compare import BrightnessTask, NoRescaleTask, make_dataset


class _Bar:
    def __init__(self, total: int, desc: str) -> None:
        self.done = 0

    def update(self, n: int) -> None:
        self.done += n

    def close(self) -> None:
        pass


def _scorer(task: Task, tmp_path: Path, journal: Journal) -> VariantScorer:
    return VariantScorer(task, UpscaleCache(tmp_path / "cache"), journal, _Bar, name_culprits=False)


def _variant(name: str, scale: int, journal: Journal) -> Any:
    found = variants_at(
        scale, task=BrightnessTask(), baselines=["lr", "bicubic"], sr=[], device="cpu",
        precision="fp32", journal=journal,
    )  # fmt: skip
    return next(v for v in found if v.name == name)


def test_rows_per_item_and_hr_predicted_once_across_scales(tmp_path: Path) -> None:
    items = make_dataset(3, size=(24, 28)).items  # a multiple of 2 and 4: modcrop cuts nothing
    task, journal = BrightnessTask(), Journal()
    scorer = _scorer(task, tmp_path, journal)
    for scale in (2, 4):
        inputs = DegradedSet(scale, items, [(0, 2), (2, 3)])
        run = scorer.run(_variant("hr", scale, journal), inputs, keep=True)
        assert run is not None
        rows = [json.loads(line) for line in run.rows]  # each row one JSON line
        assert [r["id"] for r in rows] == ["im0", "im1", "im2"]
        assert {(r["scale"], r["variant"]) for r in rows} == {(f"x{scale}", "hr")}
        assert all(r["psnr_vs_hr"] is None for r in rows)  # HR against itself
        assert run.info.items == 3 and len(run.predictions) == 3
    assert task.batches == [2, 1]  # x4 reused x2's HR predictions
    inputs = DegradedSet(2, items, [(0, 3)])
    bicubic = scorer.run(_variant("bicubic", 2, journal), inputs, keep=False)
    assert bicubic is not None and bicubic.predictions == []
    assert all(json.loads(line)["psnr_vs_hr"] > 10 for line in bicubic.rows)


def test_lr_is_skipped_with_a_note_when_the_task_cannot_rescale(tmp_path: Path) -> None:
    journal = Journal()
    inputs = DegradedSet(2, make_dataset(2).items, [(0, 2)])
    scorer = _scorer(NoRescaleTask(), tmp_path, journal)
    assert scorer.run(_variant("lr", 2, journal), inputs, keep=True) is None
    assert journal.notes == [
        "variant 'lr' skipped: task 'brightness' cannot map predictions back to HR "
        "coordinates (Task.rescale)"
    ]


class _OneShort(BrightnessTask):
    def predict(self, images: Any) -> list[float]:
        return super().predict(images)[:-1]


class _Refuses(BrightnessTask):
    def item_scores(self, prediction: float, item: Item) -> dict[str, float]:
        raise SrpipeError("no ground truth")


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (_OneShort(), "returned 1 predictions for 2 images"),
        (_Refuses(), "item 'im0', variant 'bicubic': no ground truth"),
    ],
)
def test_a_task_breaking_the_contract_is_one_line(task: Task, message: str, tmp_path: Path) -> None:
    journal = Journal()
    inputs = DegradedSet(2, make_dataset(2).items, [(0, 2)])
    with pytest.raises(SrpipeError, match=message):
        _scorer(task, tmp_path, journal).run(_variant("bicubic", 2, journal), inputs, keep=True)


def test_hr_predictions_are_not_remembered_when_the_run_keeps_none(tmp_path: Path) -> None:
    # an item-mean task keeps no predictions: remembering HR's would grow with the set
    items = make_dataset(3, size=(24, 28)).items
    task, journal = BrightnessTask(), Journal()
    scorer = _scorer(task, tmp_path, journal)
    for scale in (2, 4):
        inputs = DegradedSet(scale, items, [(0, 3)])
        assert scorer.run(_variant("hr", scale, journal), inputs, keep=False) is not None
    assert task.batches == [3, 3]
