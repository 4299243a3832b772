"""The comparison harness: one task model on HR, baseline and SR inputs, with statistics.

This is what srpipe exists for. For every scale, every HR item is cropped to a multiple of
the scale and degraded with the protocol's MATLAB bicubic (:mod:`srpipe.comparison.degraded`);
every *variant* then produces the image the task sees (:mod:`srpipe.comparison.variants`):

* ``hr``: the HR image itself, the oracle (upper bound);
* ``lr``: the LR image as it is; predictions are mapped back to HR coordinates with
  ``Task.rescale`` (skipped, with a note, for tasks that cannot);
* ``nearest`` / ``bilinear`` / ``bicubic``: classic upscaling of the LR image;
* one variant per ``--sr`` model, through :class:`srpipe.upscaling.upscaler.Upscaler`, cached
  on disk (:class:`srpipe.upscaling.cache.UpscaleCache`) so a re-run never recomputes SR;
* variants that plugins add through ``srpipe_add_variants`` (e.g. sliced inference).

The *same* task model predicts on every variant and scores each item
(:mod:`srpipe.comparison.scoring`); :mod:`srpipe.comparison.summary` turns the rows into
values with paired CIs (:mod:`srpipe.comparison.statistics`), differences to the baseline,
the share of the HR-vs-baseline gap each method recovers, and one verdict line per SR model
(:mod:`srpipe.comparison.verdicts`), or none when the set cannot tell HR from the baseline.

Memory stays bounded on big datasets: items arrive described (``Item.load``) and are decoded
a chunk at a time when scored, the next chunk decoded and degraded ahead on a thread
(:mod:`srpipe.comparison.degraded`); images are dropped once predicted and scored; each item's
row is encoded as one JSON line, spooled to disk once its variant is measured and written
beside the report (:mod:`srpipe.comparison.items`), while the statistics read number arrays.
Predictions are kept in memory (compact: boxes, embeddings) only for a dataset metric's
``evaluate`` (mAP on every resample); a task that declares ``evaluate_is_item_mean = True``
(its metrics are plain means of its item scores) keeps none, and its bootstrap is vectorised.
Each finished chunk is saved (:mod:`srpipe.comparison.resume`), so a killed eval run again
reuses what was done.

This module is the spine, :meth:`Comparison.run`: a short loop of named steps, each in the
module of its seam, passing small dataclasses. Result types live in
:mod:`srpipe.comparison.results`, settings in :mod:`srpipe.comparison.settings`, the Python
API in :mod:`srpipe.api`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from tqdm import tqdm

from srpipe.comparison.crops import draw_crops
from srpipe.comparison.degraded import DegradedSet
from srpipe.comparison.items import ItemStream
from srpipe.comparison.journal import Journal
from srpipe.comparison.results import ComparisonResult, Crop, plain
from srpipe.comparison.resume import ChunkStore
from srpipe.comparison.scoring import VariantScorer
from srpipe.comparison.settings import EvalSettings
from srpipe.comparison.sharding import gather_run, shares, units
from srpipe.comparison.summary import (
    MeasuredVariant,
    Measurement,
    ScaleSummary,
    measure_variant,
    summarise_scale,
)
from srpipe.comparison.variants import check_baselines, is_classic, variants_at
from srpipe.distributed import Workers, workers
from srpipe.environment import environment
from srpipe.errors import SrpipeError, UsageError
from srpipe.task import Dataset, Task, Variant
from srpipe.upscaling.cache import UpscaleCache


class Comparison:
    """Runs one task on every variant of a dataset at one or more scales.

    ``task`` must already be set up. ``sr`` holds model names / checkpoint paths (an
    :class:`~srpipe.upscaling.upscaler.Upscaler` is built per scale) or ready upscaler objects
    (anything with ``name``, ``method``, ``scale``, ``weights_hash`` and
    ``upscale_batch``), used at their own scale only.
    """

    def __init__(
        self,
        task: Task,
        dataset: Dataset,
        settings: EvalSettings | None = None,
        *,
        cache: UpscaleCache | None = None,
        ranks: Workers | None = None,
        store: ChunkStore | None = None,
        **changes: Any,
    ) -> None:
        """``changes`` override fields of ``settings`` (default :class:`EvalSettings`).

        ``ranks`` is the torchrun job this process belongs to (default: joined from the
        environment; a plain process is a world of one). ``store`` keeps finished chunks
        for a re-run (default: none kept; :func:`srpipe.compare` gives one).
        """
        settings = (settings or EvalSettings()).replace(**changes)
        self.settings = settings
        self.task = task
        self.dataset = dataset
        self.journal = Journal()
        #: every variant's per-item rows, spooled to disk in report order (rank 0)
        self.items = ItemStream()
        #: the report's notes (the journal's: every step adds to them)
        self.notes = self.journal.notes
        # a classic method given as "SR" is a baseline: run it once, as a baseline
        classic = [s for s in settings.sr if is_classic(s)]
        self.sr = [s for s in settings.sr if s not in classic]
        self.compare = check_baselines([*settings.compare, *classic])
        for name in classic:
            self.journal.note(f"--sr {name} is a classic method: run as a baseline")
        self.scales = _check_scales(settings.scales)
        self.ranks = ranks if ranks is not None else workers()
        #: as given (recorded in the report); ``_device`` is where this rank computes
        self.device = settings.device
        self._device = self.ranks.device(settings.device)
        self.precision = settings.precision
        self.bootstrap = int(settings.bootstrap)
        self.seed = int(settings.seed)
        self.cache = cache if cache is not None else UpscaleCache()
        self.chunk_size = max(1, int(settings.chunk_size))
        self.progress = settings.progress
        self._resume_checked = False
        self.n_crops = settings.n_crops
        self.confidence = settings.confidence
        self.store = store if store is not None and settings.resume is not False else None
        self._scorer = VariantScorer(
            task, self.cache, self.journal, self._bar, name_culprits=self.ranks.distributed
        )
        if len(dataset) == 0:
            raise SrpipeError(f"dataset {dataset.name!r} has no items; check --data")
        if self.bootstrap < 0:
            raise UsageError(f"--bootstrap must be >= 0, got {settings.bootstrap}")

    def variants(self, scale: int) -> list[Variant]:
        """Every variant to run at ``scale``, in report order."""
        return variants_at(
            scale,
            task=self.task,
            baselines=self.compare,
            sr=self.sr,
            device=self._device,
            precision=self.precision,
            journal=self.journal,
        )

    @property
    def sequential_groups(self) -> bool:
        return bool(getattr(self.task, "sequential_groups", False))

    def shares(self) -> list[list[tuple[int, int]]]:
        """Per rank, the chunks ``(start, end)`` of items it runs, in item order
        (:func:`srpipe.comparison.sharding.shares`)."""
        return shares(
            self.dataset.items,
            self.chunk_size,
            self.ranks.world_size,
            sequential_groups=self.sequential_groups,
        )

    # -- the run -------------------------------------------------------------------------
    def run(self) -> ComparisonResult | None:
        """Run every variant at every scale; compute statistics, verdicts and crops.

        Under torchrun every rank runs its share of the items (:meth:`shares`) and rank 0
        gathers the per-item predictions and scores after each variant, computes the
        statistics and returns the result; the other ranks return None. A single process
        is a world of one: it runs everything and returns the result.
        """
        measurement = Measurement.plan(
            self.task, self.dataset, self.bootstrap, self.seed, self.confidence
        )
        mine = self.shares()[self.ranks.rank]
        summaries: list[ScaleSummary] = []
        for scale in self.scales:
            inputs = DegradedSet(scale, self.dataset.items, mine, self.settings.prefetch)
            measured = [
                done
                for variant in self.variants(scale)
                if (done := self._measure(variant, inputs, measurement)) is not None
            ]
            if self.ranks.is_main:
                summaries.append(self._summarise(inputs, measured, measurement))
        main = self._count_cache_use()  # collective: every rank has finished its share
        if self.store is not None:
            self.store.forget()  # the result holds what the saved chunks held
        if not main:
            return None  # not rank 0: its share is in rank 0's result
        return self._result(measurement, summaries)

    # -- its steps -----------------------------------------------------------------------
    def _measure(
        self, variant: Variant, inputs: DegradedSet, measurement: Measurement
    ) -> MeasuredVariant | None:
        """Score one variant on this rank's share; on rank 0, gathered and measured."""
        run = self.ranks.run_share(
            lambda: self._scorer.run(
                variant,
                inputs,
                keep=not measurement.item_mean,
                store=self.store,
                together=self._together,
                device_type=self._device.split(":")[0],
            ),
            lambda: self.journal.failed_at(f"x{inputs.scale}, variant {variant.name!r}"),
        )
        self._check_resumed()
        if self.ranks.distributed:
            run = gather_run(self.ranks, run, inputs.indices(), len(inputs.items), self.journal)
        if run is None:
            return None  # skipped, or not rank 0
        measured = measure_variant(self.task, run, variant, inputs.items, measurement, self._bar)
        self.items.append(run.rows)  # to disk: the variant's rows are not kept in memory
        return measured

    @cached_property
    def _together(self) -> list[list[tuple[int, int]]]:
        """Chunks reused only together: a sequential task's groups (none for the others)."""
        if not self.sequential_groups:
            return []
        return units(self.dataset.items, self.chunk_size, sequential_groups=True)

    def _check_resumed(self) -> None:
        """``resume=True`` promises saved work: refuse to start over silently."""
        if self.settings.resume is not True or self._resume_checked:
            return
        self._resume_checked = True
        reused = self.store is not None and self.store.reused > 0
        if not self.ranks.any_rank(reused):
            raise UsageError(
                "--resume: no finished chunk of this eval is saved (the data, model or a "
                "setting changed, or it already finished); run it without --resume"
            )

    def _summarise(
        self, inputs: DegradedSet, measured: list[MeasuredVariant], measurement: Measurement
    ) -> ScaleSummary:
        """Rank 0: the scale's statistics and verdicts, then its crops."""
        summary = summarise_scale(
            inputs.scale, measured, measurement, task=self.task, dataset=self.dataset
        )
        if self.n_crops > 0 and summary.baseline is not None:
            summary.crops = self._crops(inputs, measured, summary.baseline, measurement.headline)
        return summary

    def _crops(
        self, inputs: DegradedSet, measured: list[MeasuredVariant], baseline: str, metric: str
    ) -> list[Crop]:
        """The report's crops against ``baseline``, leaving the cache's counts as they were."""
        # crops re-read SR images from the cache: keep them out of the hit/miss counts
        hits, misses = self.cache.hits, self.cache.misses
        try:
            return draw_crops(
                inputs,
                measured,
                baseline,
                metric,
                self.n_crops,
                task=self.task,
                cache=self.cache,
                journal=self.journal,
            )
        finally:
            self.cache.hits, self.cache.misses = hits, misses

    def _count_cache_use(self) -> bool:
        """Every rank's cache hits and misses as a note on rank 0; False on the other ranks."""
        counts = self.ranks.gather((self.cache.hits, self.cache.misses))
        if not self.ranks.is_main or counts is None:
            return False
        hits, misses = (sum(c[k] for c in counts) for k in (0, 1))
        if self.cache.enabled and hits + misses:
            self.journal.note(f"upscale cache: {hits} hits, {misses} misses ({self.cache.root})")
        return True

    def _result(self, measurement: Measurement, summaries: list[ScaleSummary]) -> ComparisonResult:
        """Rank 0: every scale's summary, the settings and the environment as one result."""
        task = self.task
        return ComparisonResult(
            task=task.name,
            metrics=measurement.metrics,
            lower_is_better=frozenset(task.lower_is_better),
            dataset=_describe_dataset(self.dataset),
            scales=list(self.scales),
            variants={s.scale: [m.info for m in s.variants] for s in summaries},
            stats={s.scale: s.stats for s in summaries},
            psnr={s.scale: {m.name: m.psnr_mean() for m in s.variants} for s in summaries},
            items=self.items,
            baseline={s.scale: s.baseline for s in summaries},
            verdicts=[line for s in summaries for line in s.verdicts],
            notes=list(self.notes),
            settings=self._settings_record(measurement),
            environment=environment(),
            paper_metrics=getattr(task, "paper_table_metrics", None),
            crops=[crop for s in summaries for crop in s.crops],
            power={s.scale: s.power for s in summaries},
        )

    def _settings_record(self, measurement: Measurement) -> dict[str, Any]:
        """The settings as report.json records them."""
        grouped = any(item.group is not None for item in self.dataset.items)
        return {
            "sr": [getattr(s, "name", s) for s in self.sr],
            "compare": list(self.compare),
            "scales": list(self.scales),
            "device": self.device,
            # as asked; what each SR model ran in (and why) is in its variant's record
            "precision_requested": self.precision,
            "bootstrap": self.bootstrap,
            "bootstrap_kind": "cluster" if grouped else "item",
            "intervals": measurement.intervals.describe(),
            "confidence": self.confidence,
            "seed": self.seed,
            "chunk_size": self.chunk_size,
            "evaluate_is_item_mean": measurement.item_mean,
            "degradation": "modcrop + MATLAB bicubic 1/scale, uint8 (srpipe.image.resize.degrade)",
        }

    # -- what the steps share ------------------------------------------------------------
    def _bar(self, total: int, desc: str) -> Any:
        """A tqdm bar; ``progress=None`` lets tqdm decide (shown on a terminal only)."""
        disable = None if self.progress is None else not self.progress
        if not self.ranks.is_main:
            disable = True  # one set of bars per job, rank 0's
        return tqdm(total=total, desc=desc, unit="it", disable=disable, leave=False)


def _check_scales(scales: Iterable[int]) -> list[int]:
    out = []
    for s in scales:
        s = int(s)
        if s < 2:
            raise UsageError(f"scale must be at least 2 to compare upscaling, got {s}")
        if s not in out:
            out.append(s)
    if not out:
        raise UsageError("give at least one scale, e.g. --scale 4")
    return out


def _describe_dataset(dataset: Dataset) -> dict[str, Any]:
    groups = {item.group for item in dataset.items if item.group is not None}
    # from the readers' sizes: describing the set decodes nothing
    sizes = [size for item in dataset.items if (size := item.pixel_size()) is not None]
    return {
        "name": dataset.name,
        "description": dataset.description,
        "items": len(dataset),
        "groups": len(groups) if groups else None,
        "min_size": [min(s[0] for s in sizes), min(s[1] for s in sizes)] if sizes else None,
        "max_size": [max(s[0] for s in sizes), max(s[1] for s in sizes)] if sizes else None,
        "meta": {k: plain(v) for k, v in dataset.meta.items()},
    }
