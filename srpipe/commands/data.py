"""`srpipe data`: fetch benchmark sets, build the offline corpus, and plugin data generators.

Plugins add commands here through ``srpipe_register_commands(parent="data")`` and, under
``srpipe data synth``, through ``parent="data synth"`` (e.g. ``srpipe data synth detect``).
They are collected when the group is listed or a command is looked up, so ``srpipe --help``
stays fast.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from srpipe.data import sources
from srpipe.data.fetch import fetch_dataset
from srpipe.data.registry import DATASETS, datasets_root
from srpipe.data.samples import build_samples
from srpipe.plugins import get_plugin_manager


class PluginCommandGroup(click.Group):
    """A click group that also offers the commands plugins register for ``parent``."""

    def __init__(self, *args, parent_name: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.parent_name = parent_name

    def _plugin_commands(self) -> dict[str, click.Command]:

        found: dict[str, click.Command] = {}
        results = get_plugin_manager().hook.srpipe_register_commands(parent=self.parent_name)
        for commands in results:
            for command in commands or []:
                if command.name and command.name not in self.commands:
                    found.setdefault(command.name, command)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name) or self._plugin_commands().get(cmd_name)


@click.group(cls=PluginCommandGroup, parent_name="data")
def data() -> None:
    """Datasets: fetch benchmark sets, build the offline corpus, generate task data."""


@data.command("fetch")
@click.argument(
    "name",
    type=click.Choice(
        ["div2k", "div2k-valid", "set5", "set14", "b100", "urban100", "manga109"],
        case_sensitive=False,
    ),
)
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Datasets root (default: <cache>/datasets, where --data NAME looks).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def fetch(name: str, dest: Path | None, quiet: bool) -> None:
    """Download and extract a dataset (resumable, sha256-checked, safe extraction).

    Afterwards `--data NAME` finds it. Offline, get the files elsewhere and pass
    `--data /path/to/HR_folder` instead.
    """

    hr = fetch_dataset(name, dest=dest, progress=not quiet, say=click.echo)
    click.echo(f"{name}: HR images in {hr}")


@data.command("samples")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write it (default: <cache>/samples).",
)
@click.option("--force", is_flag=True, help="Rebuild even if a current corpus exists.")
def samples(dest: Path | None, force: bool) -> None:
    """Build the offline SR corpus from media installed packages ship.

    train/ fits models, val/ selects checkpoints, test/ is the `srpipe eval sr` default
    set; which photo goes where comes from the source registry (`srpipe data sources`).
    Use it in a training config as `data.train: samples:train`, `data.val: samples:val`.
    """

    root = build_samples(dest, force=force, progress=lambda m: click.echo(f"  {m}"))
    manifest = json.loads((root / "manifest.json").read_text())
    for split in ("train", "val", "test"):
        images = [e for e in manifest["images"] if e["split"] == split]
        sources = sorted({e["source"] for e in images})
        pixels = sum(e["width"] * e["height"] for e in images) / 1e6
        click.echo(
            f"{split}: {len(images)} images, {pixels:.1f} MP, {len(sources)} sources "
            f"({', '.join(sources)})"
        )
    click.echo(f"corpus: {root} (manifest.json)")


@data.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print the registry as JSON.")
def sources_command(as_json: bool) -> None:
    """The offline media srpipe and its plugins read, and the one role each plays.

    train: fits a bundled model (SR weights, the tiny-object detector); validation: selects
    its checkpoint; test: measured and published, by the evaluations listed. Every plugin
    declares the media it reads (srpipe_register_sources); no source plays two roles
    (tests/data/test_sources.py), so no published number was fitted or selected on the data
    it is measured on.
    """

    registry = sources.registered()
    if as_json:
        rows = [dataclasses.asdict(s) for s in registry]
        click.echo(json.dumps(rows, indent=2))
        return
    for role in sources.ROLES:
        click.echo(f"{role}:")
        for s in (s for s in registry if s.role == role):
            reads = f"  [{', '.join(s.tasks)}]" if s.tasks else ""
            click.echo(f"  {s.name:18s} {s.kind:5s} {s.package:11s} {s.description}{reads}")


@data.command("list")
def list_datasets() -> None:
    """Known datasets, whether each is present, and where."""

    root = datasets_root()
    for info in DATASETS.values():
        present = (root / info.hr_dir).is_dir()
        state = "present" if present else ("fetchable" if info.archives else "on request")
        click.echo(f"{info.name:12s} {state:10s} {info.title}")
    click.echo(f"datasets root: {root}")


@data.group("synth", cls=PluginCommandGroup, parent_name="data synth")
def synth() -> None:
    """Generate synthetic task data (commands come from task plugins)."""
