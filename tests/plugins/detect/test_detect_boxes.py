"""srpipe_detect.boxes: the Detections type."""

from __future__ import annotations

import numpy as np
from srpipe_detect.boxes import Detections


def test_empty_and_select_keep_names_and_size() -> None:
    empty = Detections.empty({0: "dot"}, (64, 48))
    assert len(empty) == 0 and empty.boxes.shape == (0, 4) and empty.image_size == (64, 48)
    found = Detections(
        np.array([[0, 0, 4, 4], [8, 8, 16, 16]], np.float32),
        np.array([0, 1]),
        np.array([0.9, 0.1], np.float32),
        {0: "dot", 1: "plain"},
        (64, 48),
    )
    kept = found.select(found.scores >= 0.5)
    assert len(kept) == 1 and kept.classes.tolist() == [0]
    assert kept.names == found.names and kept.image_size == (64, 48)
    assert found.select(np.array([1])).boxes.tolist() == [[8, 8, 16, 16]]
