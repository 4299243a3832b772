"""srpipe.testing.check_task: passes a good task, names every broken rule of a bad one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from srpipe.task import Item, Task
from srpipe.tasks.image_quality import ImageQualityTask
from srpipe.testing import ContractError, check_task, make_images


def test_builtin_sr_task_meets_the_contract() -> None:
    done = check_task(ImageQualityTask)
    assert done[:3] == ["attributes", "setup", "predict"]
    assert "rescale (not implemented: the lr variant is skipped)" in done
    assert "item_scores / evaluate" in done


def test_make_images_is_seeded() -> None:
    a, b = make_images(2, seed=1), make_images(2, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert a[0].shape == (48, 64, 3) and a[0].dtype == np.uint8
    assert not np.array_equal(a[0], make_images(1, seed=2)[0])


class Impure(Task):
    name = "impure"
    metrics = ("count", "error")
    lower_is_better = frozenset({"errors"})  # typo: not a metric

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, images: Sequence[np.ndarray]) -> list[Any]:
        return [object() for _ in images[:-1]]  # one short

    def evaluate(self, predictions: Sequence[Any], items: Sequence[Item]) -> dict[str, float]:
        self.calls += 1
        return {"count": float(self.calls), "error": 0.0}


class Short(Impure):
    lower_is_better = frozenset({"error"})


class Stateful(Short):
    def predict(self, images: Sequence[np.ndarray]) -> list[Any]:
        return [{"mean": float(i.mean())} for i in images]

    def describe(self, prediction: Any) -> Any:
        return object()  # not JSON


def _items() -> list[Item]:
    return [Item(f"i{k}", image) for k, image in enumerate(make_images(3))]


def test_broken_attributes_are_named() -> None:
    with pytest.raises(ContractError, match=r"lower_is_better names metrics the task lacks"):
        check_task(Impure, items=_items())


def test_wrong_number_of_predictions() -> None:
    with pytest.raises(ContractError, match="predict returned 2 predictions for 3 hr images"):
        check_task(Short, items=_items())


def test_impure_evaluate_and_bad_describe() -> None:
    with pytest.raises(ContractError) as info:
        check_task(Stateful, items=_items())
    message = str(info.value)
    assert "evaluate is not pure" in message
    assert "describe must return a JSON-serialisable summary" in message
