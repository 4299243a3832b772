"""`srpipe run TASK INPUT`: upscale an image, folder or video and apply a task to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from srpipe.commands.task_group import TaskGroup, device_option
from srpipe.running.runner import run_task
from srpipe.running.settings import DEFAULTS


def _common_params() -> list[click.Parameter]:
    return [
        click.Argument(["input"], type=click.Path(path_type=Path)),
        click.Option(
            ["--sr"],
            default=DEFAULTS.sr,
            show_default=True,
            help="How to upscale first: none, nearest, bilinear, bicubic, a model name "
            "(`srpipe models`) or a checkpoint path.",
        ),
        click.Option(
            ["--scale"],
            type=int,
            default=DEFAULTS.scale,
            show_default=True,
            help="Upscaling factor (ignored with --sr none).",
        ),
        click.Option(
            ["-o", "--out"],
            type=click.Path(path_type=Path),
            default=None,
            help="Output folder (or video file). Default: runs/<task>-<input name>/.",
        ),
        device_option(),
        click.Option(
            ["--precision"],
            type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
            default=DEFAULTS.precision,
            show_default=True,
            help="SR arithmetic. auto: bf16 where this CPU/GPU runs it natively and the "
            "model's bf16 output was measured within one uint8 level of fp32, else fp32; "
            "bf16 where it would be emulated runs fp32 and says so.",
        ),
        click.Option(
            ["--tile"],
            type=click.IntRange(min=0),
            default=DEFAULTS.tile,
            show_default=True,
            help="SR tile size in LR pixels (0 = planned from the memory budget, "
            "$SRPIPE_MEMORY: whole frames when they fit).",
        ),
        click.Option(
            ["--batch-size"],
            type=click.IntRange(min=1),
            default=DEFAULTS.batch_size,
            show_default=True,
            help="Frames upscaled and predicted together.",
        ),
        click.Option(
            ["--start"],
            type=int,
            default=DEFAULTS.start,
            show_default=True,
            help="Video: first frame index to process.",
        ),
        click.Option(
            ["--end"],
            type=int,
            default=DEFAULTS.end,
            help="Video: stop before this frame index (default: the last frame).",
        ),
        click.Option(
            ["--stride"],
            type=int,
            default=DEFAULTS.stride,
            show_default=True,
            help="Video: process every N-th frame (output fps divided by N).",
        ),
        click.Option(
            ["--json", "as_json"],
            is_flag=True,
            help="Print the final summary as JSON instead of a table.",
        ),
    ]


def _invoke(*, task_cls: type, task_options: dict[str, Any], **values: Any) -> None:
    """Run the task: ``input``, ``out`` and ``as_json`` as they are, the rest are the
    :class:`~srpipe.running.settings.RunSettings` fields the options set."""
    run_task(task_cls=task_cls, task_options=task_options, **values)


run_group = TaskGroup(
    "run",
    verb="run",
    common_params=_common_params,
    invoke=_invoke,
    help="Upscale an input (image, folder of images, or video) and run a task on it.\n\n"
    "Writes annotated images or video plus the task's records as JSON and CSV.\n\n"
    "Example: srpipe run detect --sr edsr --scale 4 clip.mp4",
)
