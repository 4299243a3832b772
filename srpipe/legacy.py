"""Calling plugins written against the 0.1 task contract (removed in the next release).

0.1 called ``Task.setup(**options)`` with the parsed options plus ``device`` (and
``scales``/``limit`` when the signature named them), and ``DatasetReader.read(path,
**options)`` with the task's options. 0.2 calls ``Task.setup(ctx)`` with a
:class:`~srpipe.task.TaskContext` and ``DatasetReader.read(path, task)``. A plugin whose
method still has the old signature keeps working: it is called the old way, with one
:class:`SrpipeDeprecationWarning` per class saying what to change.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from srpipe.task import Dataset, DatasetReader, Task, TaskContext


class SrpipeDeprecationWarning(FutureWarning):
    """A plugin uses a contract srpipe will stop supporting (shown to users by default)."""


_WARNED: set[tuple[type, str]] = set()


def _warn_once(cls: type, method: str, change: str) -> None:
    if (cls, method) in _WARNED:
        return
    _WARNED.add((cls, method))
    warnings.warn(
        f"{cls.__module__}.{cls.__qualname__}.{method} uses the srpipe 0.1 signature; {change} "
        "(see docs/writing-a-plugin.md, 'Changes in 0.2')",
        SrpipeDeprecationWarning,
        stacklevel=3,
    )


def _takes_context(func: Callable[..., Any], names: tuple[str, ...]) -> bool:
    """True for the 0.2 signature: just ``names``, all required, and no ``**kwargs``.

    0.1 options always had defaults (an option may be absent), so ``setup(self, rgb=False)``
    reads as 0.1 and ``setup(self, ctx)`` as 0.2.
    """
    params = list(inspect.signature(func).parameters.values())
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return False
    positional = [
        p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    return len(positional) == len(required) == len(names)


def _accepts(func: Callable[..., Any], name: str) -> bool:
    params = inspect.signature(func).parameters.values()
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def setup_task(task: Task, ctx: TaskContext) -> None:
    """``task.setup(ctx)``, or the 0.1 call ``task.setup(**options)`` with a warning."""
    if _takes_context(task.setup, ("ctx",)):
        task.setup(ctx)
        return
    _warn_once(type(task), "setup", "write `def setup(self, ctx: TaskContext)`")
    options = dict(ctx.options)
    values = (("device", ctx.device), ("scales", list(ctx.scales)), ("limit", ctx.limit))
    for name, value in values:
        if name == "scales" and ctx.command == "run":
            continue  # 0.1 never told run's setup a scale
        if value is not None and _accepts(task.setup, name):
            options.setdefault(name, value)
    task.setup(**options)


def read_with(reader: DatasetReader, path: Path, task: Task, options: dict[str, Any]) -> Dataset:
    """``reader.read(path, task)``, or the 0.1 call ``reader.read(path, **options)``."""
    if _takes_context(reader.read, ("path", "task")):
        return reader.read(path, task)
    _warn_once(type(reader), "read", "write `def read(self, path, task)`")
    return reader.read(path, **options)
