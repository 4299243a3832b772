"""Rank shares are single-process chunks; a variant's runs come back in item order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from srpipe.comparison.journal import Journal
from srpipe.comparison.results import VariantInfo
from srpipe.comparison.scoring import VariantRun
from srpipe.comparison.sharding import gather_run, shared_dataset, shares
from srpipe.distributed import RankFailed, Workers
from srpipe.errors import SrpipeError
from srpipe.task import Dataset, Item
from tests.comparison.test_compare import make_dataset


def test_every_item_is_in_exactly_one_share_in_single_process_chunks() -> None:
    items = make_dataset(7).items
    by_rank = shares(items, 3, 2, sequential_groups=False)
    assert sorted(c for share in by_rank for c in share) == [(0, 3), (3, 6), (6, 7)]
    assert shares(items, 3, 1, sequential_groups=False) == [[(0, 3), (3, 6), (6, 7)]]


def test_a_gathered_run_is_in_item_order_with_its_work_summed() -> None:
    journal = Journal(notes=["mine"])
    info = VariantInfo("bicubic", 2, "baseline", items=3, seconds_image=1.5, cache_hits=2)
    rows = [{"id": f"im{i}"} for i in (2, 0, 1)]
    run = VariantRun(info, ["p2", "p0", "p1"], rows)
    gathered = gather_run(Workers(), run, [2, 0, 1], 3, journal)
    assert gathered is not None
    assert [r["id"] for r in gathered.rows] == ["im0", "im1", "im2"]
    assert gathered.predictions == ["p0", "p1", "p2"]
    assert (gathered.info.items, gathered.info.seconds_image, gathered.info.cache_hits) == (
        3,
        1.5,
        2,
    )
    assert journal.notes == ["mine"]


def test_a_variant_skipped_by_a_rank_with_items_is_skipped() -> None:
    assert gather_run(Workers(), None, [0, 1], 2, Journal()) is None


class _Rank(Workers):
    """One rank of a two-rank job whose broadcast hands back what rank 0 sent."""

    def __init__(self, rank: int, sent: Any = None) -> None:
        super().__init__(rank=rank, world_size=2)
        self.sent = sent

    def broadcast(self, value: Any) -> Any:
        if self.is_main:
            self.sent = value
        return self.sent


def _never_read() -> Dataset:
    raise AssertionError("only rank 0 reads the index")


def test_rank_0_reads_the_index_and_the_others_receive_it() -> None:
    dataset = make_dataset(3)
    main = _Rank(0)
    assert shared_dataset(main, lambda: dataset) is not None
    got = shared_dataset(_Rank(1, main.sent), _never_read)
    assert [it.id for it in got.items] == [it.id for it in dataset.items]
    assert shared_dataset(Workers(), lambda: dataset) is dataset  # one process: as read


def test_a_failed_or_unpicklable_index_stops_every_rank() -> None:
    main = _Rank(0)
    with pytest.raises(SrpipeError, match="no such set"):
        shared_dataset(main, lambda: (_ for _ in ()).throw(SrpipeError("no such set")))
    with pytest.raises(RankFailed, match="rank 0 failed reading the dataset: no such set") as info:
        shared_dataset(_Rank(1, main.sent), _never_read)
    assert not info.value.here  # the line is printed by rank 0 only
    unpicklable = Dataset("lambdas", [Item("a", load=lambda: np.zeros((2, 2, 3), np.uint8))])
    with pytest.raises(SrpipeError, match=r"functools\.partial of a module-level function"):
        shared_dataset(main, lambda: unpicklable)
    with pytest.raises(RankFailed, match="cannot be sent to the other ranks"):
        shared_dataset(_Rank(1, main.sent), _never_read)
