"""`srpipe run TASK INPUT`: the production loop every task gets for free.

The runner reads an image, a folder of images, or anything a plugin can open as frames
(videos, through ``srpipe_open_frames``), upscales each frame, hands batches to the
task, and writes what the task produces: annotated images or video, records as JSON
and CSV, and a summary with time per stage. It knows nothing about any task.

A frame source may offer ``run_pipeline(process_batch, writer, batch_size, desc)``
(the video plugin does: decode, process and encode overlap in threads); otherwise the
runner iterates it in batches itself.

Under ``torchrun`` a folder is shared out in whole batches, and one video in contiguous
frame ranges whose parts rank 0 joins (:mod:`srpipe.running.frame_shards`).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
from tqdm import tqdm

from srpipe import atomic
from srpipe.distributed import Workers, assign, workers
from srpipe.errors import SrpipeError
from srpipe.frames import FrameSource, PipelinedFrameSource
from srpipe.image.io import is_image_path, read_image, write_image
from srpipe.legacy import setup_task
from srpipe.plugins import get_plugin_manager
from srpipe.running.frame_shards import FrameShards
from srpipe.task import TaskContext
from srpipe.upscaling.upscaler import Upscaler


@dataclass
class InputFrame:
    """One image or video frame handed through the run loop."""

    index: int
    name: str  # file name for images, "frame_000123" for video frames
    image: np.ndarray | None  # RGB uint8; None when the source could not be decoded
    timestamp: float | None = None
    error: str | None = None


@dataclass
class RunResult:
    """What a run produced; also what ``--json`` prints."""

    task: str
    input: str
    sr: str
    scale: int
    out: str
    frames: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    #: True when a signal stopped the run: ``outputs`` then lists the ``.partial`` video
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:

        return asdict(self)


class StageTimer:
    """Accumulates wall time per pipeline stage (decode, sr, task, encode)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds

    def time(self, stage: str):
        timer = self

        class _Span:
            def __enter__(self) -> None:
                self.start = time.perf_counter()

            def __exit__(self, *exc: object) -> None:
                timer.add(stage, time.perf_counter() - self.start)

        return _Span()


def open_input(
    path: Path, start: int = 0, end: int | None = None, stride: int = 1
) -> tuple[str, Any]:
    """Classify ``path``: ("image", [path]), ("folder", [paths]) or ("frames", source)."""

    if not path.exists():
        # a glob such as "frames/*.png" is not a path, but a frame-source plugin may open it
        if any(ch in str(path) for ch in "*?["):
            source = get_plugin_manager().hook.srpipe_open_frames(
                path=path, start=start, end=end, stride=stride
            )
            if source is not None:
                return "frames", source
        raise SrpipeError(f"input not found: {path}; give an image, a folder of images or a video")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise SrpipeError(f"folder {path} is empty; put images in it or give a file")
        if not any(is_image_path(p) for p in files):
            # no images: a plugin may read the folder as one sequence (a DICOM series)
            source = get_plugin_manager().hook.srpipe_open_frames(
                path=path, start=start, end=end, stride=stride
            )
            if source is not None:
                return "frames", source
        return "folder", files
    if is_image_path(path):
        return "image", [path]
    source = get_plugin_manager().hook.srpipe_open_frames(
        path=path, start=start, end=end, stride=stride
    )
    if source is None:
        raise SrpipeError(
            f"cannot read {path.name}: not an image, and no plugin opens this file type "
            "(is the video plugin installed? see `srpipe plugins`)"
        )
    return "frames", source


def _image_frames(
    files: Sequence[Path], timer: StageTimer, read: Callable[[Path], np.ndarray] = read_image
) -> Iterator[InputFrame]:

    for index, file in enumerate(files):
        with timer.time("decode"):
            try:
                image = read(file)
                error = None
            except SrpipeError as exc:
                image, error = None, str(exc)
        yield InputFrame(index, file.name, image, error=error)


def _batches(frames: Iterable[InputFrame], size: int) -> Iterator[list[InputFrame]]:
    batch: list[InputFrame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_task(
    *,
    task_cls: type,
    task_options: dict[str, Any],
    input: Path,
    sr: str = "none",
    scale: int = 4,
    out: Path | None = None,
    device: str = "auto",
    precision: str = "fp32",
    tile: int = 0,
    batch_size: int = 4,
    as_json: bool = False,
    quiet: bool = False,
    start: int = 0,
    end: int | None = None,
    stride: int = 1,
) -> RunResult:
    """Run ``task_cls`` on ``input`` after upscaling with ``sr``; see the module docstring."""

    input = Path(input)
    if start < 0 or stride < 1 or (end is not None and end <= start):
        raise SrpipeError(
            f"frame selection needs 0 <= start < end and stride >= 1, got {start}, {end}, {stride}"
        )
    kind, source = open_input(input, start, end, stride)

    if batch_size < 1:
        raise SrpipeError(f"--batch-size must be at least 1, got {batch_size}")
    ranks = workers()
    device = ranks.device(device)
    effective_scale = 1 if sr.lower() == "none" else scale
    upscaler = Upscaler(
        sr, effective_scale, device=device, precision=precision, tile=tile, batch_size=batch_size
    )
    task = task_cls()
    setup_task(
        task,
        TaskContext("run", device=device, scales=(effective_scale,), options=task_options),
    )
    out = Path(out) if out is not None else Path("runs") / f"{task_cls.name}-{input.stem}"
    video_out = kind == "frames" and out.suffix.lower() in (".mp4", ".avi", ".mkv", ".mov")
    out_dir = out.parent if video_out else out
    out_dir.mkdir(parents=True, exist_ok=True)

    timer = StageTimer()
    result = RunResult(task_cls.name, str(input), upscaler.name, effective_scale, str(out))
    rows: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (input coords, upscaled coords)
    predictions: list[Any] = []

    #: frames with a lower index are context (a rank's frames before its range): they go
    #: through SR and predict, so a temporal task sees them, but are not drawn or recorded
    context_below = [0]

    def process(batch: list[InputFrame]) -> list[np.ndarray | None]:
        """SR + task + draw for one batch; returns the annotated frames (None = failed)."""
        good = [f for f in batch if f.image is not None]
        for f in batch:
            if f.image is None:
                result.failed.append({"input": f.name, "error": f.error or "unreadable"})
        if not good:
            return [None] * len(batch)
        with timer.time("sr"):
            upscaled = upscaler.upscale_batch([f.image for f in good])
        with timer.time("task"):
            preds = task.predict(upscaled)
            drawn = {
                id(f): task.draw(img, p)
                for f, img, p in zip(good, upscaled, preds)
                if f.index >= context_below[0]
            }
        for f, pred in zip(good, preds):
            if f.index >= context_below[0]:
                predictions.append(pred)
                rows.extend(_record_rows(task, pred, f, effective_scale))
                result.frames += 1
        return [drawn.get(id(f)) for f in batch]

    # `-o DIR/a.mp4` shares DIR with other runs: its records are named after the video
    prefix = f"{out.stem}." if video_out else ""
    record_files = [out_dir / f"{prefix}{n}" for n in ("records.json", "records.csv")]
    summary_file = out_dir / f"{prefix}summary.json"

    def write_records() -> None:
        result.summary = {**task.summarize(predictions), **result.summary}
        result.seconds = {k: round(v, 3) for k, v in timer.seconds.items()}
        merged = _merge_rows(rows)
        atomic.write_json(record_files[0], merged)
        atomic.write_text(record_files[1], _to_csv(merged))
        atomic.write_json(summary_file, result.to_dict())

    video_path = out if video_out else out_dir / f"{input.stem}_{task_cls.name}.mp4"
    split: bool | None = None  # True on rank 0 once a video's frame ranges are stitched
    if kind == "frames" and ranks.distributed:
        context = getattr(task, "run_context_frames", 0)
        if context is not None:
            shards = FrameShards(
                ranks, input.name, source, (start, stride), video_path, batch_size,
                reopen=lambda first, end, step: open_input(input, first, end, step)[1],
                open_writer=lambda frames, path: _open_writer(frames, path, effective_scale),
                run_frames=lambda frames, writer, quiet_here: _run_frames(
                    frames, process, writer, batch_size, timer, result, quiet_here
                ),
            )  # fmt: skip
            # process() appends to predictions and rows; rank 0 gets everyone's in order
            split = shards.run(context, context_below, timer, result, quiet, (predictions, rows))
        if split is False:
            return result  # not rank 0: rank 0 stitched the video and writes the records
        if split is None:  # a task that needs every frame, or a writer that cannot stitch
            if not ranks.is_main:
                return result
            why = "its task needs every frame" if context is None else "its parts cannot be joined"
            click.echo(
                f"srpipe: {input.name} runs on rank 0 alone under torchrun ({why})", err=True
            )
    if kind == "frames" and split is None:
        terminated: list[int] = []
        try:
            with _sigterm_as_interrupt(terminated):
                writer = _open_writer(source, video_path, effective_scale)
                # a writer may choose its own file (medical: DICOM/NIfTI, not video)
                result.outputs.append(str(getattr(writer, "path", video_path)))
                _run_frames(source, process, writer, batch_size, timer, result, quiet)
        except KeyboardInterrupt as exc:
            # keep what was processed: the partial video is playable, records match it
            stats = getattr(exc, "stats", None)
            partial = getattr(stats, "output", None)
            result.outputs = [o for o in result.outputs if o != str(video_path)]
            if partial:
                result.outputs.append(str(partial))
            result.outputs += [str(p) for p in (*record_files, summary_file)]
            result.partial = True
            message = str(exc) or "interrupted"
            result.summary = {"interrupted": True, "signal": terminated[0] if terminated else 2}
            result.summary["message"] = message
            write_records()
            click.echo(f"records of the frames done: {summary_file}", err=True)
            if terminated:
                raise SystemExit(128 + terminated[0]) from None
            raise
    elif kind != "frames":
        annotated_dir = out_dir / "annotated"
        # under torchrun: whole batches per rank (the batches one process would make)
        starts = list(range(0, len(source), batch_size))
        share = [starts[u] for u in assign([1.0] * len(starts), ranks.world_size)[ranks.rank]]
        current: list[str] = []
        logs: list[tuple[int, list[Any], list[Any], list[Any], list[str]]] = []

        read = getattr(task, "read_input", read_image)  # tasks not derived from Task

        def run_share() -> None:
            mine = sum(min(batch_size, len(source) - s) for s in share)
            bar = tqdm(
                total=mine, desc=task_cls.name, unit="img", disable=quiet or not ranks.is_main
            )
            for start in share:
                files = source[start : start + batch_size]
                current[:] = [f.name for f in files]
                marks = (len(predictions), len(rows), len(result.failed), len(result.outputs))
                batch = [
                    dataclasses.replace(f, index=f.index + start)
                    for f in _image_frames(files, timer, read)
                ]
                outputs = process(batch)
                with timer.time("encode"):
                    for frame, image in zip(batch, outputs):
                        if image is not None:
                            # TIFF in, TIFF out (a 16-bit scan stays a 16-bit TIFF); else PNG
                            tiff = Path(frame.name).suffix.lower() in (".tif", ".tiff")
                            suffix = Path(frame.name).suffix if tiff else ".png"
                            target = annotated_dir / (Path(frame.name).stem + suffix)
                            write_image(target, image)
                            result.outputs.append(str(target))
                logs.append(
                    (
                        start,
                        predictions[marks[0] :],
                        rows[marks[1] :],
                        result.failed[marks[2] :],
                        result.outputs[marks[3] :],
                    )
                )
                bar.update(len(batch))
            bar.close()

        ranks.run_share(run_share, lambda: _describe_inputs(current))
        if ranks.distributed and not _gather_run(ranks, logs, timer, result, predictions, rows):
            return result  # not rank 0: rank 0 writes the records and prints

    with timer.time("encode"):
        result.outputs += [str(p) for p in (*record_files, summary_file)]
        write_records()
    _print_result(result, as_json, quiet, click)
    if result.failed:
        names = ", ".join(f"{f['input']} ({f['error']})" for f in result.failed[:10])
        more = "" if len(result.failed) <= 10 else f" and {len(result.failed) - 10} more"
        raise SrpipeError(
            f"{len(result.failed)} input(s) failed, the rest were written: {names}{more}"
        )
    return result


@contextlib.contextmanager
def _sigterm_as_interrupt(received: list[int]) -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while frames are processed (a playable partial is kept).

    The signal number is appended to ``received`` so the caller can exit 128 + signal.
    """

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (an embedding application): leave it alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _open_writer(source: FrameSource, path: Path, scale: int) -> Any:
    """A ``srpipe_open_frame_writer`` writer for the upscaled frames of ``source``."""
    width, height = source.size
    writer = get_plugin_manager().hook.srpipe_open_frame_writer(
        path=path,
        fps=float(source.fps or 25.0),
        size=(int(width * scale), int(height * scale)),
        source=source,
    )
    if writer is None:
        raise SrpipeError(f"no plugin can write {path.suffix} video; see `srpipe plugins`")
    return writer


def _run_frames(
    source: FrameSource,
    process: Callable[[list[InputFrame]], list[np.ndarray | None]],
    writer: Any,
    batch_size: int,
    timer: StageTimer,
    result: RunResult,
    quiet: bool = False,
) -> None:
    """Frames from a plugin source through ``process`` into ``writer`` (closed at the end)."""

    def process_frames(frames: list[Any]) -> list[np.ndarray | None]:
        wrapped = [
            InputFrame(f.index, f"frame_{f.index:06d}", f.image, f.timestamp) for f in frames
        ]
        return process(wrapped)

    if isinstance(source, PipelinedFrameSource):
        stats = source.run_pipeline(
            process_frames, writer, batch_size=batch_size, desc=result.task, progress=not quiet
        )
        for stage, seconds in (stats or {}).get("seconds", {}).items():
            timer.add(stage, seconds)
        return

    total = source.frame_count
    try:
        with tqdm(total=total, desc=result.task, unit="frame", disable=quiet) as bar:
            iterator = iter(source)
            while True:
                with timer.time("decode"):
                    batch = [f for _, f in zip(range(batch_size), iterator)]
                if not batch:
                    break
                outputs = process_frames(batch)
                with timer.time("encode"):
                    for image in outputs:
                        if image is not None:
                            writer.write(image)
                bar.update(len(batch))
    except BaseException:
        writer.abort()
        raise
    writer.close()


def _describe_inputs(names: Sequence[str]) -> str:
    if not names:
        return "setup"
    return f"input {names[0]!r}" if len(names) == 1 else f"inputs {names[0]!r}..{names[-1]!r}"


def _gather_run(
    ranks: Workers,
    logs: list[tuple[int, list[Any], list[Any], list[Any], list[str]]],
    timer: StageTimer,
    result: RunResult,
    predictions: list[Any],
    rows: list[Any],
) -> bool:
    """Bring every rank's batches to rank 0, in input order; True on rank 0."""
    parts = ranks.gather((logs, dict(timer.seconds), result.frames))
    if parts is None:
        return False
    predictions.clear()
    rows.clear()
    result.failed.clear()
    result.outputs.clear()
    result.frames = 0
    timer.seconds.clear()
    batches = []
    for part_logs, seconds, frames in parts:
        batches.extend(part_logs)
        result.frames += frames
        for stage, value in seconds.items():
            timer.add(stage, value)  # compute time summed over ranks, not wall time
    for _, preds, part_rows, failed, outputs in sorted(batches, key=lambda b: b[0]):
        predictions.extend(preds)
        rows.extend(part_rows)
        result.failed.extend(failed)
        result.outputs.extend(outputs)
    return True


def _record_rows(
    task: Any, prediction: Any, frame: InputFrame, scale: int
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(row in input coordinates, row in upscaled coordinates) for each record."""
    rows_sr = task.records(prediction)
    try:
        rows_in = task.records(task.rescale(prediction, 1.0 / scale)) if scale != 1 else rows_sr
    except NotImplementedError:
        rows_in = rows_sr
    pairs = []
    for row_in, row_sr in zip(rows_in, rows_sr):
        row = {"input": frame.name, "frame": frame.index}
        if frame.timestamp is not None:
            row["time_s"] = round(frame.timestamp, 4)
        row.update(row_in)
        pairs.append((row, row_sr))
    return pairs


def _merge_rows(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Input-coordinate rows plus ``<field>_sr`` for every field that the upscaling moves.

    Which fields move is decided over the whole run (not per row), so a box at x1=0,
    where both coordinates agree, still gets its ``x1_sr`` cell.
    """
    moved: list[str] = []
    for row, row_sr in pairs:
        moved.extend(k for k, v in row_sr.items() if row.get(k) != v and k not in moved)
    return [
        {**row, **{f"{k}_sr": row_sr[k] for k in moved if k in row_sr}} for row, row_sr in pairs
    ]


def _to_csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _print_result(result: RunResult, as_json: bool, quiet: bool, click: Any) -> None:

    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    if quiet:
        return
    click.echo(
        f"{result.task}: {result.frames} frame(s) from {result.input} "
        f"(upscaled by {result.sr} x{result.scale})"
    )
    for key, value in result.summary.items():
        click.echo(f"  {key}: {value}")
    total = sum(result.seconds.values()) or 1.0
    stages = ", ".join(f"{k} {v:.2f}s ({100 * v / total:.0f}%)" for k, v in result.seconds.items())
    click.echo(f"  time: {stages}")
    click.echo(f"  outputs in {result.out}")


def run(
    task: str | type,
    input: str | Path,
    *,
    sr: str = "none",
    scale: int = 4,
    out: str | Path | None = None,
    device: str = "auto",
    precision: str = "fp32",
    tile: int = 0,
    batch_size: int = 4,
    quiet: bool = True,
    **task_options: Any,
) -> RunResult:
    """The Python face of ``srpipe run TASK INPUT``; task options go as keywords::

    result = srpipe.run("detect", "clip.mp4", sr="edsr", scale=4, conf=0.3)
    print(result.summary, result.outputs)
    """
    task_cls = get_plugin_manager().task(task) if isinstance(task, str) else task
    return run_task(
        task_cls=task_cls,
        task_options=task_options,
        input=Path(input),
        sr=sr,
        scale=scale,
        out=Path(out) if out is not None else None,
        device=device,
        precision=precision,
        tile=tile,
        batch_size=batch_size,
        quiet=quiet,
    )
