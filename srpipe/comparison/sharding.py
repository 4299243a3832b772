"""Under torchrun: the item index shared, which chunks each rank runs, and runs gathered back.

Rank 0 alone reads the item index and sends it to the others (:func:`shared_dataset`);
each rank decodes and scores its share; rank 0 puts every rank's rows and predictions back into item
order and sums their work, so the statistics it computes are those of one process. A world
of one (a plain process) has one share, all of it, and gathers nothing.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Sequence
from typing import Any

from srpipe.comparison.journal import Journal
from srpipe.comparison.scoring import VariantRun
from srpipe.distributed import RankFailed, Workers, assign, one_line
from srpipe.errors import SrpipeError
from srpipe.task import Dataset, Item


def shared_dataset(ranks: Workers, read: Callable[[], Dataset]) -> Dataset:
    """The item index, read once by rank 0 (``read()``) and sent to every rank.

    The other ranks never call the reader: listing a set of thousands of files (or finding
    the faces of LFW) once is enough, and items only describe their images (``Item.load``),
    so what travels is the index, not pixels. When rank 0 cannot read the set or its items
    cannot be pickled, every rank stops: rank 0 with its own error, the others quietly.
    """
    if not ranks.distributed:
        return read()
    payload: bytes | None = None
    failure: str | None = None
    error: BaseException | None = None
    if ranks.is_main:
        try:
            dataset = read()
        except Exception as exc:  # every rank waits on the broadcast below: always send
            error, failure = exc, one_line(exc)
        else:
            try:
                payload = pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                failure = (
                    f"the items of {dataset.name} cannot be sent to the other ranks ({exc}); "
                    "give Item.load a picklable callable (an ImageFile, or functools.partial "
                    "of a module-level function)"
                )
                error = SrpipeError(failure)
    payload, failure = ranks.broadcast((payload, failure))
    if failure is not None:
        if error is not None:
            raise error
        raise RankFailed(f"rank 0 failed reading the dataset: {failure}", here=False)
    assert payload is not None
    return pickle.loads(payload)


def units(
    items: Sequence[Item], chunk_size: int, *, sequential_groups: bool
) -> list[list[tuple[int, int]]]:
    """The chunks ``(start, end)`` of items, in units that go to one rank whole.

    Chunks are ``chunk_size`` items from 0, never across a group when the task has
    ``sequential_groups``; such a task's unit is a whole group, any other's one chunk.
    """
    if not sequential_groups:
        return [[(s, min(s + chunk_size, len(items)))] for s in range(0, len(items), chunk_size)]
    found: list[list[tuple[int, int]]] = []
    start = 0
    for i in range(1, len(items) + 1):
        if i < len(items) and items[i].group is not None and items[i].group == items[i - 1].group:
            continue
        found.append([(s, min(s + chunk_size, i)) for s in range(start, i, chunk_size)])
        start = i
    return found


def shares(
    items: Sequence[Item], chunk_size: int, world_size: int, *, sequential_groups: bool
) -> list[list[tuple[int, int]]]:
    """Per rank, the chunks ``(start, end)`` of items it runs, in item order.

    Chunks are the single-process ones (:func:`units`), so every batch an upscaler or a task
    sees is the batch a single process would give it and the numbers are the same. A task
    with ``sequential_groups`` gets whole groups per rank. Units go to the least-loaded rank
    by HR pixels (SR time grows with pixels), read from the items' sizes without decoding;
    an item whose size is unknown counts as one megapixel.
    """
    found = units(items, chunk_size, sequential_groups=sequential_groups)
    costs = [sum(_pixels(item) for a, b in unit for item in items[a:b]) for unit in found]
    return [
        sorted(chunk for u in share for chunk in found[u]) for share in assign(costs, world_size)
    ]


def _pixels(item: Item) -> int:
    size = item.pixel_size()
    return size[0] * size[1] if size is not None else 1_000_000


def gather_run(
    ranks: Workers,
    run: VariantRun | None,
    indices: Sequence[int],
    n_items: int,
    journal: Journal,
) -> VariantRun | None:
    """Every rank's rows and predictions for one variant, in item order, on rank 0.

    ``indices`` are the items this rank ran. The other ranks get None (their share is with
    rank 0 now), and so does rank 0 when a rank found the variant must be skipped. Every
    rank's notes join rank 0's ``journal``.
    """
    parts = ranks.gather((run, list(indices), list(journal.notes)))
    if parts is None:
        return None
    for _, _, notes in parts:
        for note in notes:
            journal.note(note)
    # a rank with no items cannot tell that a variant must be skipped; one that can tells
    if any(part is None and idx for part, idx, _ in parts):
        return None
    done: list[tuple[VariantRun, list[int]]] = [
        (part, idx) for part, idx, _ in parts if part is not None
    ]
    first = done[0][0].info
    info = dataclasses.replace(first, items=0, notes=list(first.notes))
    info.seconds_image = info.seconds_predict = 0.0
    info.cache_hits = 0
    rows: list[Any] = [None] * n_items
    predictions: list[Any] = [None] * n_items
    keep = False
    for part, idx in done:
        # work summed over ranks: the report's seconds are compute time, not wall time
        info.items += part.info.items
        info.seconds_image += part.info.seconds_image
        info.seconds_predict += part.info.seconds_predict
        info.cache_hits += part.info.cache_hits
        keep = keep or bool(part.predictions)
        for k, i in enumerate(idx):
            rows[i] = part.rows[k]
            if part.predictions:
                predictions[i] = part.predictions[k]
    return VariantRun(info, predictions if keep else [], rows)
