"""`srpipe eval TASK`: the same task model on HR, bicubic and SR inputs, compared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from srpipe.commands.task_group import TaskGroup, device_option, parse_scales, split_csv


def _common_params() -> list[click.Parameter]:
    return [
        click.Option(
            ["--data"],
            default=None,
            help="Dataset path (format detected) or a name; default: the task's "
            "bundled/generated offline set.",
        ),
        click.Option(
            ["--compare"],
            default="bicubic",
            show_default=True,
            help="Baselines, comma-separated: bicubic, bilinear, nearest, lr, none.",
        ),
        click.Option(
            ["--sr"],
            default="edsr",
            show_default=True,
            help="SR models or checkpoint paths, comma-separated (`srpipe models`).",
        ),
        click.Option(
            ["--scale"],
            default="4",
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
            type=click.Choice(["fp32", "bf16", "fp16"]),
            default="fp32",
            show_default=True,
        ),
        click.Option(
            ["--limit"],
            type=int,
            default=None,
            help="Evaluate only the first N items (quick look).",
        ),
        click.Option(
            ["--bootstrap"],
            type=int,
            default=1000,
            show_default=True,
            help="Bootstrap resamples for the confidence intervals.",
        ),
        click.Option(
            ["--seed"],
            type=int,
            default=0,
            show_default=True,
            help="Seed for the bootstrap and any sampling.",
        ),
        click.Option(
            ["--json", "as_json"], is_flag=True, help="Print the report as JSON instead of a table."
        ),
    ]


def _invoke(*, task_cls: type, task_options: dict[str, Any], **values: Any) -> None:
    from srpipe.compare import compare_from_cli

    values["scale"] = parse_scales(values["scale"])
    values["sr"] = [s for s in split_csv(values["sr"]) if s.lower() != "none"]
    values["compare"] = [c for c in split_csv(values["compare"]) if c.lower() != "none"]
    compare_from_cli(task_cls=task_cls, task_options=task_options, **values)


eval_group = TaskGroup(
    "eval",
    verb="eval",
    common_params=_common_params,
    invoke=_invoke,
    help="Measure a task on HR (the upper bound), baseline upscaling and SR inputs.\n\n"
    "HR items are degraded with MATLAB-exact bicubic, upscaled by every method, and scored "
    "by the same task model; the report gives paired differences with bootstrap CIs and "
    "the share of the HR-vs-bicubic gap each SR model recovers.\n\n"
    "Example: srpipe eval faces --compare bicubic --sr edsr --scale 4",
)
