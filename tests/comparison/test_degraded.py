"""The set at one scale: items decoded a chunk at a time, when scored, the next one ahead."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from srpipe.comparison.degraded import DegradedSet
from srpipe.comparison.journal import Journal
from srpipe.errors import SrpipeError
from srpipe.image.resize import degrade
from srpipe.task import Item

#: item ids in the order their images were decoded (this module's loaders append to it)
DECODED: list[str] = []


def decode_gradient(item_id: str, height: int, width: int) -> np.ndarray:
    """A module-level loader (picklable through functools.partial) that records its calls."""
    DECODED.append(item_id)
    ramp = np.arange(height * width * 3, dtype=np.uint32).reshape(height, width, 3)
    return (ramp % 251).astype(np.uint8)


def lazy_items(n: int, size: tuple[int, int] = (26, 31)) -> list[Item]:
    return [
        Item(f"im{i}", load=functools.partial(decode_gradient, f"im{i}", *size), size=size[::-1])
        for i in range(n)
    ]


def test_describing_the_set_decodes_nothing_and_chunks_decode_their_own_items() -> None:
    DECODED.clear()
    inputs = DegradedSet(4, lazy_items(6), [(2, 4), (4, 6)], prefetch=0)
    assert [i.size for i in inputs.items] == [(28, 24)] * 6  # cropped to a multiple of 4
    assert [i.meta["scale"] for i in inputs.items] == [4] * 6
    assert all(i.image is None for i in inputs.items) and DECODED == []
    journal = Journal()
    chunks = inputs.prepared(inputs.chunks, journal)
    first = next(chunks)
    assert DECODED == ["im2", "im3"] and journal.working_on == ["im2", "im3"]
    assert [i.image.shape[:2] for i in first.items] == [(24, 28)] * 2
    np.testing.assert_array_equal(first.lrs[0], degrade(decode_gradient("x", 26, 31), 4))
    assert [c.start for c in chunks] == [4]


def test_prefetch_decodes_one_chunk_ahead_and_no_more() -> None:
    DECODED.clear()
    inputs = DegradedSet(2, lazy_items(8), [(0, 2), (2, 4), (4, 6), (6, 8)], prefetch=1)
    chunks = inputs.prepared(inputs.chunks, Journal())
    assert next(chunks).start == 0
    # the second chunk may be on its way; the third is not asked for until the first is done
    assert set(DECODED) <= {"im0", "im1", "im2", "im3"}
    assert [c.start for c in chunks] == [2, 4, 6]
    assert sorted(DECODED) == [f"im{i}" for i in range(8)]  # each decoded once


def test_an_eager_item_is_used_as_given() -> None:
    image = np.full((26, 31, 3), 7, np.uint8)
    inputs = DegradedSet(4, [Item("eager", image)], [(0, 1)])
    (chunk,) = inputs.prepared(inputs.chunks, Journal())
    assert chunk.items[0].image.base is image or chunk.items[0].image.shape == (24, 28, 3)
    assert inputs.items[0].image.shape == (24, 28, 3)  # an eager item keeps its pixels


def test_a_failure_names_its_item() -> None:
    journal = Journal()
    items = [
        Item("big", np.zeros((8, 8, 3), np.uint8)),
        Item("tiny", np.zeros((2, 2, 3), np.uint8)),
    ]
    inputs = DegradedSet(4, items, [(0, 2)])
    with pytest.raises(SrpipeError, match="item 'tiny': image of size 2x2 is smaller"):
        list(inputs.prepared(inputs.chunks, journal))


def test_an_item_needs_an_image_or_a_loader() -> None:
    with pytest.raises(TypeError, match="neither an image nor a load"):
        Item("nothing")
