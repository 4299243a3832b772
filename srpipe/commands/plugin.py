"""`srpipe plugin new NAME`: write a task plugin package that passes its own test.

The package is what docs/writing-a-plugin.md describes: one task file, a ``pyproject.toml``
that registers it under the ``srpipe`` entry-point group, and a test that checks the task
against the contract with :func:`srpipe.testing.check_task`. The task it starts from is
small but real (mean brightness of the image against the HR image's), so ``srpipe -p
FILE eval NAME`` works before the author changes a line.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

import click

from srpipe.errors import UsageError

PYPROJECT = Template("""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "srpipe-$dist"
version = "0.1.0"
description = "srpipe task plugin: $name"
requires-python = ">=3.10"
dependencies = ["srpipe", "numpy"]

[project.optional-dependencies]
test = ["pytest"]

# `pip install -e .` and `srpipe eval $name` exists
[project.entry-points.srpipe]
$name = "$module"

[tool.setuptools]
py-modules = ["$module"]
""")

TASK = Template('''\
"""srpipe task plugin `$name`, written by `srpipe plugin new`.

$summary.

Try it without installing::

    srpipe -p $module.py eval $name --data photos/ --compare bicubic --sr edsr --scale 4

The starting point measures how far an upscaled image's mean brightness is from the HR
image's; replace ``predict``, ``load_dataset`` and ``item_scores`` with your task.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from srpipe import Dataset, Item, SrpipeError, Task, TaskContext, hookimpl
from srpipe.image.io import is_image_path, read_image


class $cls(Task):
    """The long help of `srpipe eval $name --help`: what the task measures, and how."""

    name = "$name"
    summary = "$summary"
    metrics = ("abs_error",)  # the first metric is the headline
    lower_is_better = frozenset({"abs_error"})
    evaluate_is_item_mean = True  # every metric is the mean of item_scores

    def setup(self, ctx: TaskContext) -> None:
        # load models here, once: ctx.command ("run"/"eval"), ctx.device, ctx.options
        self.device = ctx.device

    def predict(self, images: Sequence[np.ndarray]) -> list[float]:
        return [float(image.mean()) for image in images]

    def records(self, prediction: float) -> list[dict[str, Any]]:
        return [{"brightness": round(prediction, 3)}]

    def describe(self, prediction: float) -> float:
        return round(prediction, 3)

    def load_dataset(self, data: str | None, **_: Any) -> Dataset:
        if data is None:
            raise SrpipeError("$name needs --data: a folder of HR images")
        folder = Path(data)
        files = sorted(p for p in folder.iterdir() if is_image_path(p)) if folder.is_dir() else []
        if not files:
            raise SrpipeError(f"no images found in {data}; give a folder of HR images")
        items = []
        for path in files:
            image = read_image(path)
            items.append(Item(id=path.stem, image=image, target=float(image.mean())))
        return Dataset(name=folder.name, items=items, description=f"HR images from {folder}")

    def item_scores(self, prediction: float, item: Item) -> dict[str, float]:
        return {"abs_error": abs(prediction - float(item.image.mean()))}


@hookimpl
def srpipe_register_tasks() -> list[type[Task]]:
    return [$cls]
''')

TEST = Template('''\
"""The task meets srpipe's contract (run: `pytest`)."""

from __future__ import annotations

from srpipe.testing import check_task

from $module import $cls


def test_contract() -> None:
    done = check_task($cls)
    assert "item_scores / evaluate" in done


def test_run_side() -> None:
    check_task($cls, command="run")
''')

README = Template("""\
# srpipe-$dist

An srpipe task plugin: $summary.

```console
$$ srpipe -p $module.py eval $name --data photos/ --compare bicubic --scale 4   # no install
$$ pip install -e . && srpipe eval $name --data photos/                        # installed
$$ pytest                                                                       # the contract
```

See srpipe's docs/writing-a-plugin.md for the whole Task contract.
""")


@click.group()
def plugin() -> None:
    """Start a plugin of your own."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write (default: ./srpipe-NAME).",
)
def new(name: str, out: Path | None) -> None:
    """Write a task plugin package NAME: the task file, pyproject.toml and a contract test."""
    target = write_plugin(name, out)
    module = module_name(name)
    click.echo(f"wrote {target}/ ({module}.py, test_{module}.py, pyproject.toml, README.md)")
    click.echo(f"  try it:   srpipe -p {target / (module + '.py')} eval {name} --data IMAGES/")
    click.echo(f"  test it:  cd {target} && pytest")


def module_name(name: str) -> str:
    return f"srpipe_{name}"


def write_plugin(name: str, out: Path | None = None) -> Path:
    """Write the template package for task ``name`` into ``out``; return the folder."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise UsageError(
            f"plugin name {name!r}: use lower-case letters, digits and _ (e.g. my_task)"
        )
    target = out if out is not None else Path(f"srpipe-{name.replace('_', '-')}")
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"{target} exists and is not empty; choose another folder with --out")
    module = module_name(name)
    values = {
        "name": name,
        "dist": name.replace("_", "-"),
        "module": module,
        "cls": "".join(part.capitalize() for part in name.split("_")) + "Task",
        "summary": "Mean brightness error of the upscaled image against HR",
    }
    target.mkdir(parents=True, exist_ok=True)
    (target / "pyproject.toml").write_text(PYPROJECT.substitute(values))
    (target / f"{module}.py").write_text(TASK.substitute(values))
    (target / f"test_{module}.py").write_text(TEST.substitute(values))
    (target / "README.md").write_text(README.substitute(values))
    return target
