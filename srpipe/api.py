"""``srpipe.compare``: the Python face of ``srpipe eval``, and how it finds task and data.

The CLI (:mod:`srpipe.commands.evaluate`) calls :func:`compare` with the parsed options;
a notebook calls it with keywords. Both end in :class:`srpipe.comparison.harness.Comparison`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.comparison.harness import Comparison
from srpipe.comparison.results import ComparisonResult, plain
from srpipe.comparison.resume import ChunkStore
from srpipe.comparison.settings import EvalSettings
from srpipe.comparison.sharding import shared_dataset
from srpipe.distributed import workers
from srpipe.errors import UsageError
from srpipe.plugins import get_plugin_manager
from srpipe.report import write_reports
from srpipe.task import Dataset, Item, Task, TaskContext
from srpipe.upscaling.cache import UpscaleCache
from srpipe.version import __version__


def compare(
    task: str | type[Task] | Task = "sr",
    data: str | Path | Dataset | None = None,
    *,
    out: str | Path | None = None,
    task_options: dict[str, Any] | None = None,
    cache: UpscaleCache | None = None,
    command: str | None = None,
    settings: EvalSettings | None = None,
    **changes: Any,
) -> ComparisonResult | None:
    """Compare a task's accuracy on HR, baseline and SR inputs; the Python face of ``srpipe eval``.

    ``task`` is a registered name, a Task class, or a set-up Task instance; ``data`` a path
    or name the task (or a registered dataset reader) understands, a ready
    :class:`~srpipe.task.Dataset`, or None for the task's default set. Keywords ``changes``
    are fields of :class:`~srpipe.comparison.settings.EvalSettings` (``sr``, ``compare``,
    ``scales``, ``device``, ``precision``, ``limit``, ``bootstrap``, ``seed``, ...), whose defaults
    are those of ``srpipe eval``. With ``out`` the same reports as the CLI are written
    there. Example::

        result = srpipe.compare("sr", "photos/", sr=["edsr"], scales=[2, 4])
        print(result.table())

    Under ``torchrun`` every rank runs its share of the items and rank 0 alone returns the
    result and writes the reports; the other ranks return None.
    """
    settings = (settings or EvalSettings()).replace(**changes)
    options = dict(task_options or {})
    ranks = workers()
    context = TaskContext(
        command="eval",
        device=ranks.device(settings.device),
        scales=tuple(settings.scales),
        limit=settings.limit,
        options=options,
    )
    task_obj = make_task(task, context)
    dataset = shared_dataset(
        ranks, lambda: load_dataset(task_obj, data, limit=settings.limit, seed=settings.seed)
    )
    task_obj.use_dataset(dataset)
    store = ChunkStore.default(
        {
            "format": "srpipe eval chunks",
            "srpipe": __version__,
            "task": f"{type(task_obj).__module__}.{type(task_obj).__qualname__}",
            "task_options": {k: plain(v) for k, v in sorted(options.items())},
            "precision": settings.precision,
            "chunk_size": settings.chunk_size,
        },
        enabled=settings.resume is not False,
    )
    comparison = Comparison(task_obj, dataset, settings, cache=cache, ranks=ranks, store=store)
    result = comparison.run()
    if result is None:
        return None  # a rank other than 0: its share went into rank 0's result
    result.settings["limit"] = settings.limit
    result.settings["data"] = (
        str(data) if data is not None and not isinstance(data, Dataset) else None
    )
    result.settings["task_options"] = {k: plain(v) for k, v in options.items()}
    result.settings["command"] = command
    if out is not None:
        write_reports(result, Path(out))
    return result


def make_task(task: str | type[Task] | Task, context: TaskContext) -> Task:
    """A set-up task instance from a name, a class or an instance (returned as is)."""
    if isinstance(task, Task):
        return task
    task_cls = get_plugin_manager().task(task) if isinstance(task, str) else task
    instance = task_cls()
    instance.setup(context)
    return instance


def load_dataset(
    task: Task,
    data: str | Path | Dataset | None,
    *,
    limit: int | None = None,
    seed: int = 0,
) -> Dataset:
    """``data`` as a Dataset: registered readers first, then ``Task.load_dataset``.

    A reader gets the set-up task, so it reads as the task predicts (same embedder, ...).
    With ``limit``, a seeded sample balanced over strata (:func:`balanced_subset`).
    """
    if isinstance(data, Dataset):
        dataset = data
    else:
        dataset = None
        if data is not None:
            path = Path(data)
            for reader in get_plugin_manager().readers(task.name):
                if path.exists() and reader.can_read(path):
                    dataset = reader.read(path, task)
                    break
        if dataset is None:
            dataset = task.load_dataset(None if data is None else str(data))
    if limit is not None:
        if limit < 1:
            raise UsageError(f"--limit must be at least 1, got {limit}")
        if limit < len(dataset):
            items, strata = balanced_subset(dataset.items, limit, seed)
            dataset = dataclasses.replace(
                dataset,
                items=items,
                meta={
                    **dataset.meta,
                    "limited_from": len(dataset),
                    "limit_sample": f"seeded ({seed}), balanced over {strata} strata",
                },
            )
    return dataset


def stratum(item: Item) -> str | None:
    """What ``--limit`` balances over: ``item.meta["stratum"]`` (a class), else the group."""
    value = item.meta.get("stratum", item.group)
    return None if value is None else str(value)


def balanced_subset(items: list[Item], limit: int, seed: int) -> tuple[list[Item], int]:
    """``limit`` items, as even as possible across strata, seeded; in the dataset's order.

    The first N items of a sorted folder are often one class, video or person only. Here
    each stratum (:func:`stratum`; items without one form a stratum of their own) is
    shuffled with ``seed``, the strata are visited in a seeded order, and one item is taken
    from each in turn until ``limit`` are chosen. The same data, limit and seed give the
    same items on every machine. Returns the items and the number of strata.
    """
    rng = np.random.default_rng(seed)
    by_stratum: dict[str | None, list[int]] = {}
    for index, item in enumerate(items):
        by_stratum.setdefault(stratum(item), []).append(index)
    queues = [list(rng.permutation(indices)) for indices in by_stratum.values()]
    order = rng.permutation(len(queues))
    chosen: list[int] = []
    while len(chosen) < limit:
        for k in order:
            if queues[k] and len(chosen) < limit:
                chosen.append(int(queues[k].pop()))
    return [items[i] for i in sorted(chosen)], len(queues)
