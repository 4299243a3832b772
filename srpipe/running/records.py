"""What ``srpipe run`` leaves behind: where its outputs go, its records as JSON and CSV, its
summary, and the lines it prints.

Apart from the loops because an interrupted video writes the same records as a finished run.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from srpipe import atomic
from srpipe.atomic import is_same_file
from srpipe.errors import UsageError
from srpipe.running.state import RowPair, RunResult, RunState

#: suffixes that make ``-o`` the output video itself rather than a folder
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov")


@dataclass(frozen=True)
class RunOutputs:
    """The paths a run writes: the output folder, the video (frame sources) and the records."""

    folder: Path
    video: Path
    records_json: Path
    records_csv: Path
    summary: Path

    @classmethod
    def plan(cls, out: Path, input: Path, task_name: str, frames: bool) -> RunOutputs:
        """``out`` is a folder, or (for a frame source) a video file whose folder holds the rest.

        ``-o DIR/a.mp4`` shares DIR with other runs: its records are named after the video.
        """
        video_out = frames and out.suffix.lower() in VIDEO_SUFFIXES
        folder = out.parent if video_out else out
        prefix = f"{out.stem}." if video_out else ""
        planned = cls(
            folder=folder,
            video=out if video_out else folder / f"{input.stem}_{task_name}.mp4",
            records_json=folder / f"{prefix}records.json",
            records_csv=folder / f"{prefix}records.csv",
            summary=folder / f"{prefix}summary.json",
        )
        for path in [planned.video, *planned.record_files]:
            if input.is_file() and is_same_file(input, path):
                raise UsageError(
                    f"-o {out}: {path} would replace the input {input}; choose another output"
                )
        return planned

    @property
    def record_files(self) -> list[Path]:
        """The records and the summary, in the order ``result.outputs`` lists them."""
        return [self.records_json, self.records_csv, self.summary]

    def write(self, state: RunState, task: Any) -> None:
        """The task's summary, the stage times, the records and ``summary.json``."""
        result = state.result
        result.summary = {**task.summarize(state.predictions), **result.summary}
        result.seconds = {k: round(v, 3) for k, v in state.timer.seconds.items()}
        merged = merge_rows(state.rows)
        atomic.write_json(self.records_json, merged)
        atomic.write_text(self.records_csv, to_csv(merged))
        atomic.write_json(self.summary, result.to_dict())


def merge_rows(pairs: list[RowPair]) -> list[dict[str, Any]]:
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


def to_csv(rows: list[dict[str, Any]]) -> str:
    """``rows`` as CSV, with every column any row has, in order of first appearance."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def print_result(result: RunResult, as_json: bool, quiet: bool) -> None:
    """The run's summary on the terminal: JSON, a few lines, or nothing."""
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
    if result.precision:
        click.echo(f"  precision: {result.precision} ({result.precision_reason})")
    total = sum(result.seconds.values()) or 1.0
    stages = ", ".join(f"{k} {v:.2f}s ({100 * v / total:.0f}%)" for k, v in result.seconds.items())
    click.echo(f"  time: {stages}")
    click.echo(f"  outputs in {result.out}")
