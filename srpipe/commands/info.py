"""`srpipe plugins`, `srpipe models`, `srpipe tasks`, `srpipe info`: what is installed and
registered, and what this machine computes fast."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from srpipe.models.checkpoint import load_checkpoint, read_checkpoint_metadata
from srpipe.plugins import get_plugin_manager
from srpipe.upscaling import hardware


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins(as_json: bool) -> None:
    """List plugins: name, version, where they come from, their hooks, and any error.

    A plugin that fails to import or implements a misspelled hook is shown here with
    its error and left out; every other plugin keeps working.
    """

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
@click.option(
    "--checkpoint",
    "checkpoint",
    type=click.Path(dir_okay=False),
    default=None,
    help="Describe this checkpoint instead: which loader recognised it, architecture, scale, "
    "parameters.",
)
def models(as_json: bool, params: bool, checkpoint: str | None) -> None:
    """List SR models: name, scales, parameters at x4, bundled weights, paper.

    Any name here works with `--sr NAME`; a checkpoint path works too.
    """
    from srpipe.models.networks import count_parameters

    if checkpoint is not None:
        _describe_checkpoint(checkpoint, as_json)
        return

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
        # bundled weights may be another configuration than the paper's (say so)
        provenance = []
        defaults = {k: _plain(v) for k, v in spec.defaults.items()} if spec.weights else {}
        # an any-scale model maps every scale to its one file: describe the file once
        files = {path: scale for scale, path in sorted(spec.weights.items(), reverse=True)}
        for path, scale in sorted(files.items(), key=lambda item: item[1]):
            meta = read_checkpoint_metadata(path) or {}
            provenance.append(_provenance(spec.name, scale, spec.any_scale, meta))
            hyper = meta.get("hyper") or {}
            differs = {k: v for k, v in hyper.items() if k in defaults and defaults[k] != _plain(v)}
            if differs:
                detail = ", ".join(f"{k}={v}" for k, v in differs.items())
                footnotes.append(
                    f"bundled {spec.name} x{scale} differs from the paper's configuration: {detail}"
                )
        seen[spec.name] = {
            "name": spec.name,
            "aliases": list(spec.aliases),
            "scales": list(spec.scales),
            "params_x4": count,
            "bundled_weights": "any" if spec.any_scale and spec.weights else sorted(spec.weights),
            "any_scale": spec.any_scale,
            "weights_provenance": provenance,
            "summary": spec.summary,
            "paper": spec.paper,
            "licence": spec.licence,
            "source": spec.source,
            "plugin": spec.plugin,
        }
    if as_json:
        click.echo(json.dumps(list(seen.values()), indent=2))
        return
    rows = [
        (
            m["name"],
            "any>=1" if m["any_scale"] else ",".join(f"x{s}" for s in m["scales"]),
            _human(m["params_x4"]),
            "any"
            if m["bundled_weights"] == "any"
            else ",".join(f"x{s}" for s in m["bundled_weights"]) or "-",
            m["summary"],
        )
        for m in seen.values()
    ]
    _table(("model", "scales", "params", "weights", "what it is"), rows)
    click.echo("\nbundled weights (source; licence; training data; selection; test split):")
    for m in seen.values():
        for line in m["weights_provenance"]:
            click.echo(f"  {line}")
    for note in footnotes:
        click.echo(f"note: {note}")


def _describe_checkpoint(path: str, as_json: bool) -> None:
    """What `--sr PATH` would load: the loader that recognised it, architecture, scale, size."""
    from srpipe.models.networks import count_parameters

    model, meta = load_checkpoint(path)
    loader = meta.get("loader") or (
        "srpipe" if meta["source"] == "srpipe" else f"srpipe ({meta['source']} layout)"
    )
    info = {
        "path": path,
        "loader": loader,
        "arch": meta["arch"],
        "scale": meta["scale"],
        "parameters": count_parameters(model),
        "sha256": meta["sha256"],
    }
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        click.echo(f"{key}: {value:,}" if key == "parameters" else f"{key}: {value}")


def _plain(value: object) -> object:
    """Tuples as lists: builder defaults are tuples, checkpoint headers (JSON) hold lists."""
    return list(value) if isinstance(value, tuple) else value


def _provenance(name: str, scale: int, any_scale: bool, meta: dict) -> str:
    """One line: where a bundled checkpoint came from, its licence and training data."""
    label = name if any_scale else f"{name} x{scale}"
    if meta.get("source_package"):
        source = (
            f"{meta['source_package']} {meta.get('source_file', '')} "
            f"(sha256 {str(meta.get('source_sha256', ''))[:12]}), {meta.get('upstream', '')}, "
            f"trained by {meta.get('trained_by', 'unknown')}"
        )
    else:
        source = f"{meta.get('trained_with', 'unknown')} ({meta.get('config', '')})"
    licence = meta.get("licence", "MIT (trained by srpipe)")
    sources = meta.get("train_sources")
    data = meta.get("train_data") or (", ".join(map(str, sources)) if sources else "unknown")
    if meta.get("init") not in (None, "", "random"):  # fine-tuned: that data counts too
        data += f" (initialised from {meta['init']})"
    teacher = meta.get("distilled_from")
    if isinstance(teacher, dict):  # part of every batch was a teacher's output on train inputs
        data += f" (partly distilled from {teacher.get('teacher')} on the same images)"
    line = f"{label}: {source}; {licence}; trained on {data}"
    val = meta.get("val_sources") or meta.get("val_data")
    if val:  # model selection and the published test are named apart (srpipe data sources)
        chosen = ", ".join(map(str, val)) if isinstance(val, list) else str(val)
        line += f"; selected on {chosen}"
    if meta.get("test_split"):
        line += f"; tested on {str(meta['test_split']).split(' ')[0]}"
    return line


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def tasks(as_json: bool) -> None:
    """List tasks: each one has `srpipe run NAME` and `srpipe eval NAME`."""

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


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--refresh", is_flag=True, help="Measure the peaks again (they are cached).")
def info(as_json: bool, refresh: bool) -> None:
    """What this machine computes fast: CPU flags, native bf16/fp16, CUDA devices, and the
    measured fp32/bf16 matmul peaks (measured once, about two seconds, then cached).

    `--precision bf16` on a CPU that only emulates bf16 (no AVX512-BF16 or AMX) runs fp32
    instead and says so: emulated bf16 is several times slower than fp32. `run` and `upscale`
    default to `--precision auto`: bf16 where it is native here and the model's bf16 output
    was measured within one uint8 level of fp32 (`srpipe.models.zoo.BF16_AGREEMENT`).
    """

    found = hardware.detect(measure=True, refresh=refresh)
    if as_json:
        click.echo(json.dumps(found.to_dict(), indent=2))
        return
    for line in hardware.describe(found):
        click.echo(line)
