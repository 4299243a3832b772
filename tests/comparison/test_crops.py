"""The report's crops: which items are shown, and the window where two images differ most."""

from __future__ import annotations

import numpy as np

from srpipe.comparison.crops import choose_items, window


def test_choose_items_ranks_by_score_difference() -> None:
    base = [{"scores": {"m": v}, "psnr_vs_hr": 20.0} for v in (0.5, 0.5, 0.5, 0.5)]
    cont = [{"scores": {"m": v}, "psnr_vs_hr": 20.0} for v in (0.6, 0.1, 0.5, 0.45)]
    assert choose_items(base, cont, "m", 2) == ([1, 0], "largest |m| difference")
    no_scores = [{"scores": {}, "psnr_vs_hr": p} for p in (20.0, 25.0)]
    other = [{"scores": {}, "psnr_vs_hr": p} for p in (30.0, 26.0)]
    assert choose_items(no_scores, other, "m", 1) == ([0], "largest PSNR difference")


def test_window_finds_where_images_differ() -> None:
    a = np.zeros((400, 300, 3), np.uint8)
    b = a.copy()
    b[250:270, 40:60] = 200
    y0, x0, y1, x1 = window(a, b, size=100)
    assert (y1 - y0, x1 - x0) == (100, 100)
    assert y0 <= 250 and y1 >= 270 and x0 <= 40 and x1 >= 60
