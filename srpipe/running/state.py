"""What one ``srpipe run`` accumulates, and what a rank does once its share is done.

Every step of the run (the batch processor, the image and video loops, the video sharding
and the records writer) reads and extends one :class:`RunState`; it lives in its own module
so that those steps import it from below instead of from the runner that composes them.
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: one record as (row in input coordinates, row in upscaled coordinates)
RowPair = tuple[dict[str, Any], dict[str, Any]]
#: how long each record list was at some point (see :meth:`RunState.mark`)
Mark = tuple[int, int, int, int]


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
    #: the SR model's arithmetic and why (``--precision auto``, or bf16 emulated here); empty
    #: for the classic interpolators, which compute in numpy
    precision: str = ""
    precision_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StageTimer:
    """Accumulates wall time per pipeline stage (decode, sr, task, encode)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds

    @contextlib.contextmanager
    def time(self, stage: str) -> Iterator[None]:
        """Time the ``with`` block as ``stage`` (an exception inside still counts)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)


@dataclass
class RecordSlice:
    """Some of a run's records, in input order: what a rank sends to rank 0."""

    predictions: list[Any]
    rows: list[RowPair]
    failed: list[dict[str, str]]
    outputs: list[str]


@dataclass
class RunState:
    """A run in progress: its result, time per stage, the task's predictions and records.

    ``result.frames`` always equals ``len(predictions)``: a frame counts once it is recorded.
    """

    result: RunResult
    timer: StageTimer = field(default_factory=StageTimer)
    predictions: list[Any] = field(default_factory=list)
    rows: list[RowPair] = field(default_factory=list)
    #: frames with a lower index are context (a rank's frames before its range of a video):
    #: they go through SR and predict, so a temporal task sees them, but are not drawn or
    #: recorded
    record_from: int = 0

    def mark(self) -> Mark:
        """Where the records end now; :meth:`since` returns what was added after."""
        r = self.result
        return len(self.predictions), len(self.rows), len(r.failed), len(r.outputs)

    def since(self, mark: Mark = (0, 0, 0, 0)) -> RecordSlice:
        """The records added after ``mark`` (all of them by default)."""
        r = self.result
        predictions, rows, failed, outputs = mark
        return RecordSlice(
            self.predictions[predictions:], self.rows[rows:], r.failed[failed:], r.outputs[outputs:]
        )

    def replace_records(
        self, slices: Iterable[RecordSlice], seconds: Iterable[Mapping[str, float]]
    ) -> None:
        """Rank 0: every rank's ``slices`` (already in input order) instead of its own.

        The stage times are summed over ranks: compute time, not wall time.
        """
        slices, seconds = list(slices), list(seconds)  # they may be read from this state
        r = self.result
        self.predictions, self.rows, r.failed, r.outputs = [], [], [], []
        for part in slices:
            self.predictions += part.predictions
            self.rows += part.rows
            r.failed += part.failed
            r.outputs += part.outputs
        r.frames = len(self.predictions)
        self.timer.seconds.clear()
        for per_rank in seconds:
            for stage, value in per_rank.items():
                self.timer.add(stage, value)


class Handoff(enum.Enum):
    """What a process does once it has run its share of the frames."""

    #: it holds every record (a single process, or rank 0 after gathering): write and print
    WRITE_HERE = "write here"
    #: rank 0 holds this rank's records (or runs the video whole): nothing left to do here
    LEFT_TO_RANK0 = "left to rank 0"
    #: the video cannot be split over the ranks (the task needs every frame, or its parts
    #: cannot be joined): rank 0 runs it whole
    RUN_WHOLE = "run whole"
