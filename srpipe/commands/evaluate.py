"""`srpipe eval TASK`: the same task model on HR, bicubic and SR inputs, compared."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from srpipe.api import compare
from srpipe.commands.task_group import (
    TaskGroup,
    command_line,
    device_option,
    parse_scales,
    split_csv,
)
from srpipe.comparison.settings import DEFAULTS


def _common_params() -> list[click.Parameter]:
    return [
        click.Option(
            ["--data"],
            default=None,
            help="Dataset path (format detected) or a name; default: the task's own "
            "offline set (see below).",
        ),
        click.Option(
            ["--compare"],
            default=",".join(DEFAULTS.compare),
            show_default=True,
            help="Baselines, comma-separated: bicubic, bilinear, nearest, lr, none.",
        ),
        click.Option(
            ["--sr"],
            default=",".join(DEFAULTS.sr),
            show_default=True,
            help="SR models or checkpoint paths, comma-separated (`srpipe models`).",
        ),
        click.Option(
            ["--scale"],
            default=",".join(str(s) for s in DEFAULTS.scales),
            show_default=True,
            help="Downscaling factor(s) to test, e.g. 4 or 2,3,4.",
        ),
        click.Option(
            ["-o", "--out"],
            type=click.Path(path_type=Path),
            default=None,
            help="Report folder. Default: runs/eval-<task>-<time>/.",
        ),
        device_option(),
        click.Option(
            ["--precision"],
            type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
            default=DEFAULTS.precision,
            show_default=True,
            help="SR precision. auto: bf16 where this machine runs it natively and the model's "
            "bf16 output was measured within one uint8 level of fp32 (`srpipe info`), else "
            "fp32; the report records the precision each model used and why.",
        ),
        click.Option(
            ["--limit"],
            type=int,
            default=DEFAULTS.limit,
            help="Evaluate N items (quick look): a sample seeded by --seed, balanced over "
            "the dataset's classes or groups.",
        ),
        click.Option(
            ["--bootstrap"],
            type=int,
            default=DEFAULTS.bootstrap,
            show_default=True,
            help="Bootstrap resamples for the confidence intervals (used from 20 independent "
            "clusters on; fewer get a jackknife t interval, see docs/statistics.md); 0: none.",
        ),
        click.Option(
            ["--seed"],
            type=int,
            default=DEFAULTS.seed,
            show_default=True,
            help="Seed for the bootstrap and any sampling.",
        ),
        click.Option(
            ["--resume/--no-resume"],
            default=DEFAULTS.resume,
            help="A killed eval run again reuses its finished chunks (saved in the cache) by "
            "default; --resume also fails if none are saved, --no-resume recomputes all.",
        ),
        click.Option(
            ["--json", "as_json"], is_flag=True, help="Print the report as JSON instead of a table."
        ),
    ]


def _invoke(*, task_cls: type, task_options: dict[str, Any], **values: Any) -> None:
    """Run the comparison, write the reports, print the table (or the JSON)."""
    out = Path(values.pop("out") or default_out(task_cls.name))
    data, as_json = values.pop("data"), values.pop("as_json")
    values["scales"] = parse_scales(values.pop("scale"))
    values["sr"] = [s for s in split_csv(values["sr"]) if s.lower() != "none"]
    values["compare"] = [c for c in split_csv(values["compare"]) if c.lower() != "none"]
    result = compare(
        task_cls,
        data,
        out=out,
        task_options=task_options,
        command=command_line(),
        **values,  # the EvalSettings fields the options set
    )
    if result is None:
        return  # torchrun rank > 0: rank 0 prints and writes the report
    if as_json:
        click.echo((out / "report.json").read_text().rstrip("\n"))
    else:
        click.echo(result.table())
        click.echo(f"\nreport: {out / 'report.html'} (also report.md, report.json)")

    meta = (result.dataset or {}).get("meta") or {}
    lost = len(meta.get("skipped") or []) + len(meta.get("missing_images") or [])
    if lost:
        # the report is written and says so; the exit code tells a script it is partial
        click.echo(f"{lost} item(s) skipped or missing (listed above); exit code 1", err=True)
        raise click.exceptions.Exit(1)


def default_out(task_name: str) -> Path:
    """``runs/eval-<task>-<YYYYmmdd-HHMMSS>/`` under the current directory."""
    return Path("runs") / f"eval-{task_name}-{time.strftime('%Y%m%d-%H%M%S')}"


eval_group = TaskGroup(
    "eval",
    verb="eval",
    common_params=_common_params,
    invoke=_invoke,
    help="Measure a task on HR (the upper bound), baseline upscaling and SR inputs.\n\n"
    "HR items are degraded with MATLAB-exact bicubic, upscaled by every method, and scored "
    "by the same task model; the report gives paired differences with CIs (chosen by the "
    "number of independent clusters) and the share of the HR-vs-bicubic gap each SR model "
    "recovers.\n\n"
    "Example: srpipe eval faces --compare bicubic --sr edsr --scale 4",
)
