"""Rank shares are single-process chunks; a variant's runs come back in item order."""

from __future__ import annotations

from srpipe.comparison.journal import Journal
from srpipe.comparison.results import VariantInfo
from srpipe.comparison.scoring import VariantRun
from srpipe.comparison.sharding import gather_run, shares
from srpipe.distributed import Workers
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
