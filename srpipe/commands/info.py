"""`srpipe plugins`, `srpipe models`, `srpipe tasks`: what is installed and registered."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins(as_json: bool) -> None:
    """List plugins: name, version, where they come from, their hooks, and any error.

    A plugin that fails to import or implements a misspelled hook is shown here with
    its error and left out; every other plugin keeps working.
    """
    from dataclasses import asdict

    from srpipe.plugins import get_plugin_manager

    records = list(get_plugin_manager().records.values())
    if as_json:
        click.echo(json.dumps([asdict(r) for r in records], indent=2))
        return
    rows = []
    for r in records:
        if r.error:
            status = click.style(f"ERROR {r.error}", fg="red")
        elif r.blocked:
            status = click.style("blocked", fg="yellow")
        else:
            status = ", ".join(h.removeprefix("srpipe_") for h in r.hooks)
        rows.append((r.name, r.version, r.source, status))
    _table(("plugin", "version", "source", "hooks / status"), rows)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--params/--no-params",
    default=True,
    show_default=True,
    help="Build each model at x4 to count its parameters (slower).",
)
def models(as_json: bool, params: bool) -> None:
    """List SR models: name, scales, parameters at x4, bundled weights, paper.

    Any name here works with `--sr NAME`; a checkpoint path works too.
    """
    from srpipe.models.checkpoint import read_checkpoint_metadata
    from srpipe.models.networks import count_parameters
    from srpipe.plugins import get_plugin_manager

    seen: dict[str, dict] = {}
    footnotes: list[str] = []
    for spec in get_plugin_manager().models().values():
        if spec.name in seen:
            continue
        count = None
        if params:
            scale = 4 if 4 in spec.scales else spec.scales[-1]
            try:
                count = count_parameters(spec.build(scale=scale))
            except Exception:  # a model that needs external weights to build
                count = None
        # bundled weights may be a smaller configuration than the paper's (say so)
        for scale, path in sorted(spec.weights.items()):
            hyper = (read_checkpoint_metadata(path) or {}).get("hyper") or {}
            differs = {
                k: v for k, v in hyper.items() if k in spec.defaults and spec.defaults[k] != v
            }
            if differs:
                detail = ", ".join(f"{k}={v}" for k, v in differs.items())
                footnotes.append(
                    f"bundled {spec.name} x{scale} is a smaller configuration: {detail}"
                )
        seen[spec.name] = {
            "name": spec.name,
            "aliases": list(spec.aliases),
            "scales": list(spec.scales),
            "params_x4": count,
            "bundled_weights": sorted(spec.weights),
            "summary": spec.summary,
            "paper": spec.paper,
            "plugin": spec.plugin,
        }
    if as_json:
        click.echo(json.dumps(list(seen.values()), indent=2))
        return
    rows = [
        (
            m["name"],
            ",".join(f"x{s}" for s in m["scales"]),
            _human(m["params_x4"]),
            ",".join(f"x{s}" for s in m["bundled_weights"]) or "-",
            m["summary"],
        )
        for m in seen.values()
    ]
    _table(("model", "scales", "params", "weights", "what it is"), rows)
    for note in footnotes:
        click.echo(f"note: {note}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def tasks(as_json: bool) -> None:
    """List tasks: each one has `srpipe run NAME` and `srpipe eval NAME`."""
    from srpipe.plugins import get_plugin_manager

    found = [
        {"name": t.name, "summary": t.summary, "metrics": list(t.metrics), "module": t.__module__}
        for t in get_plugin_manager().tasks().values()
    ]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    _table(
        ("task", "metrics", "what it does"),
        [(t["name"], ", ".join(t["metrics"]), t["summary"]) for t in found],
    )


def _human(count: int | None) -> str:
    if count is None:
        return "-"
    if count >= 1_000_000:
        return f"{count / 1e6:.2f}M"
    if count >= 1_000:
        return f"{count / 1e3:.1f}K"
    return str(count)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
