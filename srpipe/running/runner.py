"""`srpipe run TASK INPUT`: the production loop every task gets for free.

The runner reads an image, a folder of images, or anything a plugin can open as frames
(videos, through ``srpipe_open_frames``), upscales each frame, hands batches to the task, and
writes what the task produces: annotated images or video, records as JSON and CSV, and a
summary with time per stage. It knows nothing about any task.

:func:`run_task` is the spine, a few named steps over small objects::

    prepare   input opened, Upscaler built, task set up, output paths planned  -> RunJob
    process   batches through BatchProcessor: images (image_batches), frames
              (frame_stream), one video's ranges per rank (frame_shards)         -> Handoff
    finish    records and summary written, the result printed, failed inputs raised

Under ``torchrun`` a folder is shared out in whole batches, and one video in contiguous
frame ranges whose parts rank 0 joins; rank 0 alone finishes.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from srpipe.distributed import Workers, workers
from srpipe.errors import SrpipeError
from srpipe.frames import FrameSource
from srpipe.image.io import declared_size
from srpipe.image.limits import check_output_pixels
from srpipe.plugins import get_plugin_manager
from srpipe.running.frame_shards import FrameShards
from srpipe.running.frame_stream import FrameStream
from srpipe.running.image_batches import ImageBatches
from srpipe.running.inputs import OpenedInput, open_input
from srpipe.running.processing import BatchProcessor
from srpipe.running.records import RunOutputs, print_result
from srpipe.running.settings import DEFAULTS, RunSettings, default_out, field_names
from srpipe.running.state import Handoff, RunResult, RunState
from srpipe.task import TaskContext
from srpipe.upscaling.upscaler import Upscaler


@dataclass
class RunJob:
    """A run set up and ready to process: what :func:`prepare` hands to the other steps."""

    input: Path
    opened: OpenedInput
    settings: RunSettings
    ranks: Workers
    #: the upscaler, the set-up task and the run's state, as one batch step
    processor: BatchProcessor
    outputs: RunOutputs

    @property
    def task(self) -> Any:
        return self.processor.task

    @property
    def state(self) -> RunState:
        return self.processor.state


def run_task(
    *,
    task_cls: type,
    task_options: dict[str, Any],
    input: Path,
    out: Path | None = None,
    as_json: bool = False,
    quiet: bool = False,
    settings: RunSettings | None = None,
    **changes: Any,
) -> RunResult:
    """Run ``task_cls`` on ``input`` after upscaling; see the module docstring.

    ``changes`` are fields of :class:`~srpipe.running.settings.RunSettings` (``sr``,
    ``scale``, ``device``, ``batch_size``, ``start``, ...) applied to ``settings`` (default:
    ``srpipe run``'s). ``out`` defaults to ``runs/<task>-<input name>/``. Under torchrun
    every rank returns; only rank 0's result holds the records.
    """
    settings = (settings or DEFAULTS).replace(**changes)
    started = time.perf_counter()
    job = prepare(task_cls, task_options, Path(input), out, settings)
    # start-up (models loaded, task set up) is a stage of its own: on a short clip it can
    # outweigh the frames, and a speed quoted without it would flatter the command
    job.state.timer.add("prepare", time.perf_counter() - started)
    if process(job, quiet) is Handoff.WRITE_HERE:
        finish(job, as_json, quiet)
    return job.state.result


def prepare(
    task_cls: type,
    task_options: dict[str, Any],
    input: Path,
    out: Path | None,
    settings: RunSettings,
) -> RunJob:
    """Open the input, build the upscaler, set the task up, create the output folder."""
    opened = open_input(input, settings.start, settings.end, settings.stride)
    ranks = workers()
    device = ranks.device(settings.device)
    scale = settings.effective_scale
    _refuse_oversized_output(opened, input, scale)
    upscaler = Upscaler(
        settings.sr,
        scale,
        device=device,
        precision=settings.precision,
        tile=settings.tile,
        batch_size=settings.batch_size,
    )
    task = task_cls()
    task.setup(TaskContext("run", device=device, scales=(scale,), options=task_options))
    out = Path(out) if out is not None else default_out(task_cls.name, input)
    outputs = RunOutputs.plan(out, input, task_cls.name, frames=opened.kind == "frames")
    outputs.folder.mkdir(parents=True, exist_ok=True)
    result = RunResult(task_cls.name, str(input), upscaler.name, scale, str(out))
    if upscaler.kind == "model":
        result.precision = upscaler.precision
        result.precision_reason = upscaler.precision_reason or "as asked"
    state = RunState(result)
    processor = BatchProcessor(upscaler, task, scale, state, stage_cores=_stage_cores(upscaler))
    return RunJob(input, opened, settings, ranks, processor, outputs)


def _stage_cores(upscaler: Upscaler) -> int | None:
    """The torch threads an SR model and the task share when they run side by side, or
    None: one after the other, each on every thread.

    Side by side only when other work already holds the cores (as many cores busy as torch
    has threads, sampled now; the 1-minute load average where that cannot be read): there
    each stage on a thread of its own waits less for a descheduled partner (measured under
    load 5-6 on 2 cores). On an idle machine the stages in turn, each on both threads, were
    faster (``run detect --sr edsr --scale 4``, 16 frames: 23.6 s vs 26.6 s on 320x180, 10.1 s
    vs 10.9 s on 160x90; BENCHMARKS.md). Sampled now, not averaged: the load average still
    counts a command that has just finished (a second run straight after a first went side
    by side on an idle machine and lost a third of its speed). Classic methods and ``--sr
    none`` are numpy work, cheap next to the task's: always in turn.
    """
    if upscaler.kind != "model":
        return None
    import torch

    threads = int(torch.get_num_threads())
    busy = busy_cores_now()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):  # no load average (Windows): the idle machine's way
            return None
    # a quarter of a core of slack: a sample of a machine held by other work reads a little
    # under its full count (the sampler's own wake-ups)
    return threads if busy >= threads - 0.25 else None


def busy_cores_now(seconds: float = 0.2, stat: str = "/proc/stat") -> float | None:
    """How many cores are busy right now (every process), from two readings of ``stat``
    ``seconds`` apart; None where there is no such file (macOS, Windows)."""

    def read() -> tuple[int, int, int] | None:
        try:
            with open(stat) as handle:
                lines = handle.read().splitlines()
            fields = [int(v) for v in lines[0].split()[1:]]
        except (OSError, ValueError, IndexError):
            return None
        if not lines[0].startswith("cpu ") or len(fields) < 4:
            return None
        cores = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle, cores  # user..steal: guest time is inside user already

    first = read()
    if first is None:
        return None
    time.sleep(seconds)
    second = read()
    if second is None or second[0] <= first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return (total - idle) / total * max(second[2], 1)


def _refuse_oversized_output(opened: OpenedInput, input: Path, scale: int) -> None:
    """One line before any model loads when the output would exceed the pixel limit: a
    video's frames share one size; one image's header says its size (a folder's images are
    checked one by one as they come, and a too-large one fails alone)."""
    size = None
    if opened.source is not None:
        size = opened.source.size
    elif opened.kind == "image":
        with contextlib.suppress(OSError), open(input, "rb") as handle:
            size = declared_size(handle.read(1 << 16))
    if size is not None:
        check_output_pixels(str(input), *size, scale)


def process(job: RunJob, quiet: bool) -> Handoff:
    """Every frame of the input (this rank's share under torchrun) through the processor."""
    source = job.opened.source
    if source is None:  # an image, or a folder of images
        batches = ImageBatches(
            job.opened.files, job.processor, job.outputs.folder, job.settings.batch_size, job.ranks
        )
        return batches.run(quiet)
    stream = FrameStream(job.input, job.processor, job.settings.batch_size)
    handoff = Handoff.RUN_WHOLE
    if job.ranks.distributed:
        handoff = _share_video(job, stream, source, quiet)
    if handoff is Handoff.RUN_WHOLE:
        stream.run_whole(source, job.outputs, job.task, quiet)
        return Handoff.WRITE_HERE
    return handoff


def _share_video(job: RunJob, stream: FrameStream, source: FrameSource, quiet: bool) -> Handoff:
    """Under torchrun: one range of the video per rank, or all of it on rank 0 when the task
    needs every frame (``run_context_frames = None``) or the parts cannot be joined."""
    context = getattr(job.task, "run_context_frames", 0)
    if context is not None:
        shards = FrameShards(job.ranks, stream, source, job.outputs.video, job.settings)
        handoff = shards.run(context, quiet)
        if handoff is not Handoff.RUN_WHOLE:
            return handoff
    if not job.ranks.is_main:
        return Handoff.LEFT_TO_RANK0
    why = "its task needs every frame" if context is None else "its parts cannot be joined"
    click.echo(f"srpipe: {job.input.name} runs on rank 0 alone under torchrun ({why})", err=True)
    return Handoff.RUN_WHOLE


def finish(job: RunJob, as_json: bool, quiet: bool) -> None:
    """Write the records and the summary, print the result; raise if any input failed."""
    state = job.state
    with state.timer.time("encode"):
        state.result.outputs += [str(p) for p in job.outputs.record_files]
        job.outputs.write(state, job.task)
    print_result(state.result, as_json, quiet)
    failed = state.result.failed
    if failed:
        names = ", ".join(f"{f['input']} ({f['error']})" for f in failed[:10])
        more = "" if len(failed) <= 10 else f" and {len(failed) - 10} more"
        raise SrpipeError(f"{len(failed)} input(s) failed, the rest were written: {names}{more}")


def run(
    task: str | type,
    input: str | Path,
    *,
    out: str | Path | None = None,
    quiet: bool = True,
    settings: RunSettings | None = None,
    **options: Any,
) -> RunResult:
    """The Python face of ``srpipe run TASK INPUT``; settings and task options as keywords::

    result = srpipe.run("detect", "clip.mp4", sr="edsr", scale=4, conf=0.3)
    print(result.summary, result.outputs)

    A keyword that names a :class:`~srpipe.running.settings.RunSettings` field (``sr``,
    ``scale``, ``device``, ``precision``, ``tile``, ``batch_size``, ``start``, ``end``,
    ``stride``) sets it; every other one is a task option.
    """
    task_cls = get_plugin_manager().task(task) if isinstance(task, str) else task
    changes = {name: options.pop(name) for name in field_names() if name in options}
    return run_task(
        task_cls=task_cls,
        task_options=options,
        input=Path(input),
        out=Path(out) if out is not None else None,
        quiet=quiet,
        settings=settings,
        **changes,
    )
