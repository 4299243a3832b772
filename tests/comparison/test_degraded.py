"""The set at one scale: HR cropped, LR made for this rank's chunks, other LRs on demand."""

from __future__ import annotations

import numpy as np
import pytest

from srpipe.comparison.degraded import degrade_share
from srpipe.comparison.journal import Journal
from srpipe.errors import SrpipeError
from srpipe.image.resize import degrade
from srpipe.task import Item
from tests.comparison.test_compare import make_dataset


def test_only_this_ranks_chunks_are_degraded_and_others_on_demand() -> None:
    items = make_dataset(4, size=(26, 31)).items
    inputs = degrade_share(items, 4, [(1, 3)], Journal())
    assert [i.image.shape[:2] for i in inputs.items] == [(24, 28)] * 4  # a multiple of 4
    assert [i.meta["scale"] for i in inputs.items] == [4] * 4
    assert [lr is not None for lr in inputs.lr_images] == [False, True, True, False]
    assert inputs.indices() == [1, 2]
    for index in range(4):  # another rank's LR, made here, is the same protocol LR
        np.testing.assert_array_equal(inputs.lr(index), degrade(items[index].image, 4))


def test_a_failure_names_its_item() -> None:
    journal = Journal()
    items = [
        Item("big", np.zeros((8, 8, 3), np.uint8)),
        Item("tiny", np.zeros((2, 2, 3), np.uint8)),
    ]
    with pytest.raises(SrpipeError, match="item 'tiny': image of size 2x2 is smaller"):
        degrade_share(items, 4, [(0, 2)], journal)
    assert journal.working_on == ["tiny"]
