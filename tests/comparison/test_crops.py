"""The report's crops: which items are shown, and the window where two images differ most."""

from __future__ import annotations

import numpy as np

from srpipe.comparison.crops import choose_items, window
from srpipe.comparison.items import ItemColumns, encode_row


def _columns(rows: list[dict]) -> ItemColumns:
    return ItemColumns.from_rows([encode_row(2, "v", row) for row in rows], ["m"])


def test_choose_items_ranks_by_score_difference() -> None:
    base = _columns([{"scores": {"m": v}, "psnr_vs_hr": 20.0} for v in (0.5, 0.5, 0.5, 0.5)])
    cont = _columns([{"scores": {"m": v}, "psnr_vs_hr": 20.0} for v in (0.6, 0.1, 0.5, 0.45)])
    assert choose_items(base, cont, "m", 2) == ([1, 0], "largest |m| difference")
    no_scores = _columns([{"scores": {}, "psnr_vs_hr": p} for p in (20.0, 25.0)])
    other = _columns([{"scores": {}, "psnr_vs_hr": p} for p in (30.0, 26.0)])
    assert choose_items(no_scores, other, "m", 1) == ([0], "largest PSNR difference")


def test_choose_items_breaks_ties_in_item_order_and_skips_undefined_scores() -> None:
    base = _columns([{"scores": {"m": v}, "psnr_vs_hr": None} for v in (0.0, 0.0, None, 0.0)])
    cont = _columns([{"scores": {"m": v}, "psnr_vs_hr": None} for v in (0.2, 0.2, 0.9, 0.3)])
    assert choose_items(base, cont, "m", 3) == ([3, 0, 1], "largest |m| difference")
    nothing = _columns([{"scores": {}, "psnr_vs_hr": None}] * 3)
    assert choose_items(nothing, nothing, "m", 2) == ([0, 1], "first items")


def test_window_finds_where_images_differ() -> None:
    a = np.zeros((400, 300, 3), np.uint8)
    b = a.copy()
    b[250:270, 40:60] = 200
    y0, x0, y1, x1 = window(a, b, size=100)
    assert (y1 - y0, x1 - x0) == (100, 100)
    assert y0 <= 250 and y1 >= 270 and x0 <= 40 and x1 >= 60
