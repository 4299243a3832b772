"""The settings of one comparison, each default written once.

``srpipe eval`` (its option defaults), :func:`srpipe.compare` and
:class:`srpipe.comparison.harness.Comparison` all read their defaults from :class:`EvalSettings`,
so changing one here changes all three. ``report.json``'s ``settings`` records them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from srpipe.comparison.statistics import CONFIDENCE


@dataclass(frozen=True)
class EvalSettings:
    """How to compare: which upscalers, baselines, scales, and how to do the statistics."""

    #: SR model names / checkpoint paths, or ready upscaler objects (``upscale_batch``)
    sr: tuple[Any, ...] = ("edsr",)
    #: baselines: any of lr, nearest, bilinear, bicubic (the HR oracle always runs)
    compare: tuple[str, ...] = ("bicubic",)
    #: downscaling factors to test
    scales: tuple[int, ...] = (4,)
    device: str = "auto"
    #: auto: bf16 where it is native here and the model was measured exact in it, else fp32
    #: (srpipe.upscaling.hardware.choose_precision); each variant records the one it used
    precision: str = "auto"
    #: evaluate only N items (None: all)
    limit: int | None = None
    #: paired bootstrap resamples for the confidence intervals, used from 20 independent
    #: clusters on (fewer get a jackknife t interval, docs/statistics.md); 0: no intervals
    bootstrap: int = 1000
    #: seed of the bootstrap and of any sampling
    seed: int = 0
    #: items predicted together; bounds memory on big datasets
    chunk_size: int = 8
    #: chunks decoded and degraded ahead of the one being scored, on a thread (0: none)
    prefetch: int = 1
    #: finished chunks of an earlier run of the same eval: None reuses what is saved,
    #: True requires some (``--resume``), False ignores and keeps nothing
    resume: bool | None = None
    #: visual crops per scale in the report
    n_crops: int = 3
    confidence: float = CONFIDENCE
    #: progress bars: None lets tqdm decide (a bar on a terminal, silence in logs and tests)
    progress: bool | None = None

    def __post_init__(self) -> None:
        # accept the spellings callers use (a list, one int for scales) and store tuples
        scales = self.scales
        if isinstance(scales, int):
            scales = (scales,)
        object.__setattr__(self, "scales", tuple(scales))
        object.__setattr__(self, "sr", tuple(self.sr))
        object.__setattr__(self, "compare", tuple(self.compare))

    def replace(self, **changes: Any) -> EvalSettings:
        """A copy with ``changes``; an unknown name is a TypeError naming the known ones."""
        unknown = sorted(set(changes) - set(field_names()))
        if unknown:
            raise TypeError(
                f"unknown comparison setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(field_names())}"
            )
        return dataclasses.replace(self, **changes)


def field_names() -> Sequence[str]:
    """The names :meth:`EvalSettings.replace` accepts."""
    return [f.name for f in dataclasses.fields(EvalSettings)]


#: the defaults, for option declarations (``--bootstrap`` shows DEFAULTS.bootstrap)
DEFAULTS = EvalSettings()
