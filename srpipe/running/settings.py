"""The settings of one ``srpipe run``, each default written once.

``srpipe run`` (its option defaults), :func:`srpipe.run` and
:func:`srpipe.running.runner.run_task` all read their defaults from :class:`RunSettings`, so
changing one here changes all three, as :class:`~srpipe.comparison.settings.EvalSettings`
does for eval. Where the outputs go and how the result is printed are not settings: they are
the caller's (``-o``, ``--json``; the Python API is quiet by default, the command is not).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srpipe.errors import SrpipeError


@dataclass(frozen=True)
class RunSettings:
    """How to run: the upscaler, its arithmetic and batching, and which frames of a video."""

    #: none, nearest, bilinear, bicubic, a model name (``srpipe models``) or a checkpoint path
    sr: str = "none"
    #: upscaling factor (ignored with ``sr="none"``: see :attr:`effective_scale`)
    scale: int = 4
    device: str = "auto"
    #: SR arithmetic: auto (bf16 where native and measured exact enough, else fp32), fp32,
    #: bf16 or fp16
    precision: str = "auto"
    #: SR tile size in LR pixels (0: planned from the memory budget, whole frames when they fit)
    tile: int = 0
    #: frames upscaled and predicted together
    batch_size: int = 4
    #: video: the first frame index to process
    start: int = 0
    #: video: stop before this frame index (None: the last frame)
    end: int | None = None
    #: video: every N-th frame
    stride: int = 1

    def __post_init__(self) -> None:
        # refused here, before anything is opened or loaded: a run with these cannot start
        if self.start < 0 or self.stride < 1 or (self.end is not None and self.end <= self.start):
            raise SrpipeError(
                "frame selection needs 0 <= start < end and stride >= 1, "
                f"got {self.start}, {self.end}, {self.stride}"
            )
        if self.batch_size < 1:
            raise SrpipeError(f"--batch-size must be at least 1, got {self.batch_size}")

    @property
    def effective_scale(self) -> int:
        """The factor frames are upscaled by: 1 with ``sr="none"``, else :attr:`scale`."""
        return 1 if self.sr.lower() == "none" else self.scale

    def replace(self, **changes: Any) -> RunSettings:
        """A copy with ``changes``; an unknown name is a TypeError naming the known ones."""
        unknown = sorted(set(changes) - set(field_names()))
        if unknown:
            raise TypeError(
                f"unknown run setting(s) {', '.join(unknown)}; known: {', '.join(field_names())}"
            )
        return dataclasses.replace(self, **changes)


def field_names() -> Sequence[str]:
    """The names :meth:`RunSettings.replace` accepts."""
    return [f.name for f in dataclasses.fields(RunSettings)]


def default_out(task_name: str, input: Path) -> Path:
    """``runs/<task>-<input name>/`` under the current directory (``-o`` not given)."""
    return Path("runs") / f"{task_name}-{input.stem}"


#: the defaults, for option declarations (``--batch-size`` shows DEFAULTS.batch_size)
DEFAULTS = RunSettings()
