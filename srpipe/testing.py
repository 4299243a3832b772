"""Check a task against the :class:`~srpipe.task.Task` contract on a few items.

A plugin's own test calls :func:`check_task` to learn, in a second and without the CLI,
whether the harness will accept its task: the class attributes agree with each other,
``setup`` takes a :class:`~srpipe.task.TaskContext`, ``predict`` returns one prediction
per image for HR, bicubic and LR inputs, ``item_scores`` / ``evaluate`` return numbers for
every metric, ``evaluate`` is pure (the bootstrap calls it on resamples with repeats), and
the ``run`` outputs (``draw``, ``records``, ``summarize``, ``describe``) have the shapes
the runner and report.json need::

    from srpipe.testing import check_task

    def test_contract():
        check_task(MyTask, options={"threshold": 0.5})

It fails with one :class:`ContractError` that lists every broken rule, and returns the
names of the checks that ran, so a test can also assert that a check was not skipped.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from srpipe.image.io import write_image
from srpipe.image.resize import degrade, modcrop, upscale_classic
from srpipe.plugins import get_plugin_manager
from srpipe.task import Command, Item, Task, TaskContext


class ContractError(AssertionError):
    """A task breaks the contract; the message lists every broken rule, one a line."""


def make_images(n: int = 3, size: tuple[int, int] = (64, 48), seed: int = 0) -> list[np.ndarray]:
    """``n`` RGB uint8 images of ``size`` (width, height): filled rectangles on a gradient.

    Edges at several scales and a smooth background, so that SR, bicubic and HR differ
    and edge- or texture-based tasks find something.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(30, 120, width, dtype=np.float32)
    images = []
    for _ in range(n):
        image = np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2).astype(np.uint8)
        for _ in range(6):
            w, h = int(rng.integers(4, width // 3)), int(rng.integers(4, height // 3))
            x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
            image[y : y + h, x : x + w] = rng.integers(60, 256, 3, dtype=np.uint8)
        images.append(image)
    return images


def check_task(
    task: type[Task] | Task,
    *,
    items: Sequence[Item] | None = None,
    data: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    command: Command = "eval",
    scale: int = 2,
    n: int = 3,
    device: str = "cpu",
) -> list[str]:
    """Run ``task`` through the contract on ``n`` items; raise :class:`ContractError` if broken.

    ``task`` is a class (set up here with a :class:`TaskContext` of ``command``, ``device``,
    ``(scale,)`` and ``options`` over the defaults of ``Task.options``) or an instance the
    caller has set up. Items come from ``items``, else from ``data`` (through the task's
    registered readers or ``load_dataset``), else from :func:`make_images` written to a
    temporary folder and read with ``load_dataset`` (enough for tasks whose ground truth is
    the image itself). With ``command="run"`` only the run side is checked.
    """
    problems: list[str] = []
    done: list[str] = []
    task_cls = task if isinstance(task, type) else type(task)

    _check_attributes(task_cls, command, problems)
    done.append("attributes")
    if isinstance(task, type):
        values = {**_option_defaults(task_cls, command), **(options or {})}
        instance = task_cls()
        instance.setup(
            TaskContext(command, device=device, scales=(scale,), limit=n, options=values)
        )
        done.append("setup")
    else:
        instance = task
    if problems:
        raise ContractError(_message(task_cls, problems))

    if items is None:
        items = _load_items(instance, data, n) if command == "eval" else None
    if items is None:
        items = [Item(f"img{i}", image) for i, image in enumerate(make_images(n))]
    items = [
        dataclasses.replace(i, image=modcrop(i.hr_image(), scale), meta={**i.meta, "scale": scale})
        for i in list(items)[:n]
    ]
    if not items:
        raise ContractError(_message(task_cls, ["no items to check with (pass items= or data=)"]))

    hr = [item.image for item in items]
    lr = [degrade(image, scale) for image in hr]
    inputs = {
        "hr": hr,
        "bicubic": [upscale_classic(image, scale, "bicubic") for image in lr],
    }
    predictions: dict[str, list[Any]] = {}
    for name, images in inputs.items():
        preds = list(instance.predict(images))
        if len(preds) != len(images):
            problems.append(
                f"predict returned {len(preds)} predictions for {len(images)} {name} images"
            )
            raise ContractError(_message(task_cls, problems))
        predictions[name] = preds
    done.append("predict")

    try:
        lr_preds = [instance.rescale(p, float(scale)) for p in instance.predict(lr)]
        if len(lr_preds) != len(lr):
            problems.append(f"predict returned {len(lr_preds)} predictions for {len(lr)} images")
        done.append("rescale")
    except NotImplementedError:
        done.append("rescale (not implemented: the lr variant is skipped)")

    _check_run_outputs(instance, hr, predictions["hr"], problems)
    done.append("run outputs")
    _check_describe(instance, predictions["hr"], problems)
    done.append("describe")
    if command == "eval":
        for name, preds in predictions.items():
            _check_scores(instance, preds, items, name, problems)
        done.append("item_scores / evaluate")
    if problems:
        raise ContractError(_message(task_cls, problems))
    return done


# ---------------------------------------------------------------------------------------
def _message(task_cls: type[Task], problems: list[str]) -> str:
    name = getattr(task_cls, "name", "") or task_cls.__name__
    return f"task {name!r} breaks the contract:\n" + "\n".join(f"- {p}" for p in problems)


def _check_attributes(task_cls: type[Task], command: Command, problems: list[str]) -> None:
    if not isinstance(task_cls.name, str) or not task_cls.name or " " in task_cls.name:
        problems.append(f"name must be a non-empty word (the CLI verb), got {task_cls.name!r}")
    if not isinstance(task_cls.summary, str):
        problems.append("summary must be a string")
    metrics = task_cls.metrics
    if not isinstance(metrics, tuple) or not all(isinstance(m, str) for m in metrics):
        problems.append(f"metrics must be a tuple of names, got {metrics!r}")
        return
    if command == "eval" and not metrics:
        problems.append("metrics is empty: eval needs at least the headline metric")
    if len(set(metrics)) != len(metrics):
        problems.append(f"metrics has duplicates: {metrics}")
    unknown = set(task_cls.lower_is_better) - set(metrics)
    if unknown:
        problems.append(f"lower_is_better names metrics the task lacks: {sorted(unknown)}")
    unknown = set(task_cls.paper_table_metrics or ()) - set(metrics)
    if unknown:
        problems.append(f"paper_table_metrics names metrics the task lacks: {sorted(unknown)}")
    if (
        command == "eval"
        and not task_cls.evaluate_is_item_mean
        and task_cls.evaluate is Task.evaluate
    ):
        problems.append("eval needs evaluate() or evaluate_is_item_mean = True")
    if task_cls.predict is Task.predict:
        problems.append("predict() is required")
    for verb in ("run", "eval"):
        params = task_cls.options(verb)
        if not isinstance(params, list) or not all(isinstance(p, click.Parameter) for p in params):
            problems.append(f"options({verb!r}) must return a list of click parameters")


def _option_defaults(task_cls: type[Task], command: Command) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for param in task_cls.options(command):
        default = param.default
        values[param.name or ""] = None if callable(default) else default
    return values


def _load_items(task: Task, data: str | Path | None, n: int) -> list[Item] | None:
    if data is None:
        folder = Path(tempfile.mkdtemp(prefix="srpipe-check-"))
        for i, image in enumerate(make_images(n)):
            write_image(folder / f"img{i}.png", image)
        data = folder
    path = Path(data)
    for reader in get_plugin_manager().readers(task.name):
        if path.exists() and reader.can_read(path):
            return list(reader.read(path, task).items)
    try:
        return list(task.load_dataset(str(data)).items)
    except NotImplementedError:
        raise ContractError(
            f"task {task.name!r} has no dataset loader; pass items= or data= to check_task"
        ) from None


def _check_run_outputs(
    task: Task, images: list[np.ndarray], preds: list[Any], problems: list[str]
) -> None:
    drawn = task.draw(images[0], preds[0])
    if not isinstance(drawn, np.ndarray) or drawn.dtype != np.uint8 or drawn.ndim != 3:
        problems.append("draw must return an RGB uint8 array")
    elif drawn.shape != images[0].shape:
        problems.append(f"draw returned shape {drawn.shape} for an image of {images[0].shape}")
    records = task.records(preds[0])
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        problems.append("records must return a list of dicts")
    elif not _json_ok(records):
        problems.append("records must be JSON-serialisable (plain numbers and strings)")
    summary = task.summarize(preds)
    if not isinstance(summary, dict) or not _json_ok(summary):
        problems.append("summarize must return a JSON-serialisable dict")


def _check_describe(task: Task, preds: list[Any], problems: list[str]) -> None:
    describe = getattr(task, "describe", None)
    if describe is None:
        return
    for pred in preds:
        if not _json_ok(describe(pred)):
            problems.append("describe must return a JSON-serialisable summary of a prediction")
            return


def _check_scores(
    task: Task, preds: list[Any], items: list[Item], variant: str, problems: list[str]
) -> None:
    metrics = task.metrics
    rows = [task.item_scores(p, i) or {} for p, i in zip(preds, items)]
    for row in rows:
        if not isinstance(row, dict) or not all(_is_number(v) for v in row.values()):
            problems.append(f"{variant}: item_scores must return {{metric: number}}, got {row!r}")
            return
    if task.evaluate_is_item_mean:
        missing = [m for m in metrics if not any(m in row for row in rows)]
        if missing:
            problems.append(
                f"{variant}: evaluate_is_item_mean is set but item_scores never gives {missing}"
            )
    values = task.evaluate(preds, items)
    if not isinstance(values, dict) or [m for m in metrics if m not in values]:
        problems.append(f"{variant}: evaluate must return every metric {metrics}, got {values!r}")
        return
    if not all(_is_number(values[m]) for m in metrics):
        problems.append(f"{variant}: evaluate must return numbers, got {values!r}")
        return
    again = task.evaluate(preds, items)
    if not all(_same(values[m], again.get(m)) for m in metrics):
        problems.append(f"{variant}: evaluate is not pure: {values} then {again}")
    # the bootstrap resamples items with repeats
    index = [0, 0, *range(1, len(items))]
    resampled = task.evaluate([preds[i] for i in index], [items[i] for i in index])
    if not isinstance(resampled, dict) or [m for m in metrics if m not in resampled]:
        problems.append(f"{variant}: evaluate fails on a resample with repeated items")


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, (str, bytes))


def _same(a: Any, b: Any) -> bool:
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


def _json_ok(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return False
    return True
