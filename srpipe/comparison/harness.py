"""The comparison harness: one task model on HR, baseline and SR inputs, with statistics.

This is what srpipe exists for. For every scale, every HR item is cropped to a multiple of
the scale and degraded with the protocol's MATLAB bicubic (:func:`srpipe.image.resize.degrade`);
every *variant* then produces the image the task sees:

* ``hr``: the HR image itself, the oracle (upper bound);
* ``lr``: the LR image as it is; predictions are mapped back to HR coordinates with
  ``Task.rescale`` (skipped, with a note, for tasks that cannot);
* ``nearest`` / ``bilinear`` / ``bicubic``: classic upscaling of the LR image;
* one variant per ``--sr`` model, through :class:`srpipe.upscaling.upscaler.Upscaler`, cached on
  disk
  (:class:`srpipe.upscaling.cache.UpscaleCache`) so a re-run never recomputes SR;
* variants that plugins add through ``srpipe_add_variants`` (e.g. sliced inference).

The *same* task model predicts on every variant and scores each item (``item_scores``);
the dataset metrics come from ``Task.evaluate``. :mod:`srpipe.comparison.statistics` turns them into
values with paired CIs (their method chosen by the number of independent clusters),
differences to the baseline and the share of the HR-vs-baseline gap each method recovers;
:mod:`srpipe.comparison.verdicts` gives one verdict line per SR model, or none when the set
cannot tell HR from the baseline.

Memory stays bounded on big datasets: items are processed in chunks, upscaled images are
dropped once predicted and scored, and only predictions (not images) are kept. A task
that declares ``evaluate_is_item_mean = True`` (its metrics are plain means of its item
scores) does not even keep predictions, and its bootstrap is vectorised.

This module is long because one :class:`Comparison` carries the state every step shares
(cache, oracle predictions, notes); its result types live in :mod:`srpipe.comparison.results`, its
settings in :mod:`srpipe.comparison.settings`, the Python API in :mod:`srpipe.api`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from srpipe.comparison import statistics
from srpipe.comparison.results import KIND_ORDER, ComparisonResult, Crop, VariantInfo, plain
from srpipe.comparison.settings import EvalSettings
from srpipe.comparison.statistics import MetricComparison
from srpipe.comparison.verdicts import Power, sr_verdicts
from srpipe.distributed import Workers, assign, describe_items, one_line, workers
from srpipe.environment import environment
from srpipe.errors import SrpipeError, UsageError
from srpipe.image.metrics import psnr
from srpipe.image.resize import METHODS as CLASSIC_METHODS
from srpipe.image.resize import degrade, modcrop, upscale_classic
from srpipe.plugins import call_optional_hook, get_plugin_manager
from srpipe.report.crops import choose_items, make_crop
from srpipe.task import Dataset, Item, Task, Variant
from srpipe.upscaling.cache import UpscaleCache
from srpipe.upscaling.upscaler import Upscaler

#: what ``--compare`` accepts besides the classic methods
BASELINE_NAMES = ("lr", *CLASSIC_METHODS)


# ---------------------------------------------------------------------------------------
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
        **changes: Any,
    ) -> None:
        """``changes`` override fields of ``settings`` (default :class:`EvalSettings`).

        ``ranks`` is the torchrun job this process belongs to (default: joined from the
        environment; a plain process is a world of one).
        """
        settings = (settings or EvalSettings()).replace(**changes)
        self.settings = settings
        self.task = task
        self.dataset = dataset
        self.notes: list[str] = []
        # a classic method given as "SR" is a baseline: run it once, as a baseline
        sr = settings.sr
        classic = [s for s in sr if isinstance(s, str) and s.lower() in CLASSIC_METHODS]
        self.sr = [s for s in sr if s not in classic]
        self.compare = _check_baselines([*settings.compare, *classic])
        for name in classic:
            self._note(f"--sr {name} is a classic method: run as a baseline")
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
        self.n_crops = settings.n_crops
        self.confidence = settings.confidence
        #: the ids of the items this rank is working on (named if it fails)
        self._working_on: list[str] = []
        #: (variant, item index, HR shape) -> the task's prediction on HR, shared by scales
        self._oracle_predictions: dict[tuple[str, int, tuple[int, ...]], Any] = {}
        if len(dataset) == 0:
            raise SrpipeError(f"dataset {dataset.name!r} has no items; check --data")
        if self.bootstrap < 0:
            raise UsageError(f"--bootstrap must be >= 0, got {settings.bootstrap}")

    # -- variants ----------------------------------------------------------------------
    def variants(self, scale: int) -> list[Variant]:
        """Every variant to run at ``scale``, in report order."""
        variants = [Variant("hr", prepare=lambda hr, lr: hr, kind="oracle")]
        for name in self.compare:
            if name == "lr":
                variants.append(
                    Variant(
                        "lr", prepare=lambda hr, lr: lr, to_hr=float(scale), meta={"method": "lr"}
                    )
                )
            else:
                variants.append(
                    Variant(
                        name,
                        prepare=lambda hr, lr, m=name: upscale_classic(lr, scale, m),
                        meta={"method": name},
                    )
                )
        for entry in self.sr:
            upscaler = self._upscaler(entry, scale)
            if upscaler is None:
                continue
            variants.append(
                Variant(
                    upscaler.name,
                    prepare=lambda hr, lr, u=upscaler: u.upscale_batch([lr])[0],
                    kind="sr",
                    meta={
                        "upscaler": upscaler,
                        "method": upscaler.method,
                        "weights_hash": upscaler.weights_hash,
                    },
                )
            )
        for batch in get_plugin_manager().hook.srpipe_add_variants(task=self.task, scale=scale):
            for variant in batch or []:
                if variant.kind == "baseline":
                    variant = dataclasses.replace(variant, kind="task")
                variants.append(variant)
        # unique names: a plugin variant may clash with a model name
        seen: dict[str, int] = {}
        unique = []
        for variant in variants:
            count = seen.get(variant.name, 0)
            seen[variant.name] = count + 1
            if count:
                variant = dataclasses.replace(variant, name=f"{variant.name}-{count + 1}")
            unique.append(variant)
        return sorted(
            unique,
            key=lambda v: KIND_ORDER.index(v.kind) if v.kind in KIND_ORDER else len(KIND_ORDER),
        )

    def _upscaler(self, entry: Any, scale: int) -> Any:
        if hasattr(entry, "upscale_batch"):
            if int(getattr(entry, "scale", scale)) != scale:
                self._note(f"{entry.name} skipped at x{scale}: it was built for x{entry.scale}")
                return None
            return entry
        return Upscaler(str(entry), scale, device=self._device, precision=self.precision)

    def _bar(self, total: int, desc: str, unit: str = "it") -> Any:
        """A tqdm bar; ``progress=None`` lets tqdm decide (shown on a terminal only)."""
        disable = None if self.progress is None else not self.progress
        if not self.ranks.is_main:
            disable = True  # one set of bars per job, rank 0's
        return tqdm(total=total, desc=desc, unit=unit, disable=disable, leave=False)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- the run -------------------------------------------------------------------------
    def run(self) -> ComparisonResult | None:
        """Run every variant at every scale; compute statistics, verdicts and crops.

        Under torchrun every rank runs its share of the items (:meth:`shares`) and rank 0
        gathers the per-item predictions and scores after each variant, computes the
        statistics and returns the result; the other ranks return None. A single process
        is a world of one: it runs everything and returns the result.
        """
        task = self.task
        metrics = tuple(task.metrics)
        if not metrics:
            raise SrpipeError(f"task {task.name!r} declares no metrics; set Task.metrics")
        mean_task = bool(getattr(task, "evaluate_is_item_mean", False))
        groups = [item.group for item in self.dataset.items]
        plan = statistics.plan_intervals(groups, self.bootstrap, self.seed, self.confidence)
        counts = plan.counts
        unmeasurable = task.not_measurable(self.dataset.items)
        power: dict[int, dict[str, Any]] = {}

        all_variants: dict[int, list[VariantInfo]] = {}
        all_stats: dict[int, dict[str, dict[str, MetricComparison]]] = {}
        all_psnr: dict[int, dict[str, float | None]] = {}
        all_items: dict[int, dict[str, list[dict[str, Any]]]] = {}
        baselines: dict[int, str | None] = {}
        verdicts: list[str] = []
        crops: list[Crop] = []
        main = self.ranks.is_main
        mine = self.shares()[self.ranks.rank]
        for scale in self.scales:
            items = [_at_scale(item, scale) for item in self.dataset.items]
            # only this rank's share is degraded (rank 0 degrades crop items when it draws)
            lr_images: list[np.ndarray | None] = [None] * len(items)
            self._guarded(scale, None, self._degrade_share, mine, scale, lr_images)
            infos: list[VariantInfo] = []
            point: dict[str, dict[str, float]] = {}
            samples: dict[str, dict[str, np.ndarray]] = {}
            item_rows: dict[str, list[dict[str, Any]]] = {}
            psnr_means: dict[str, float | None] = {}
            live: dict[str, Variant] = {}
            for variant in self.variants(scale):
                outcome = self._guarded(
                    scale,
                    variant,
                    self._run_variant,
                    variant,
                    scale,
                    items,
                    lr_images,
                    mine,
                    keep=not mean_task,
                )
                if self.ranks.distributed:
                    outcome = self._gather_variant(outcome, mine, len(items))
                if outcome is None:
                    continue
                info, predictions, rows = outcome
                infos.append(info)
                live[variant.name] = variant
                item_rows[variant.name] = rows
                finite = [r["psnr_vs_hr"] for r in rows if r["psnr_vs_hr"] is not None]
                psnr_means[variant.name] = float(np.mean(finite)) if finite else None
                point[variant.name], samples[variant.name] = self._distributions(
                    variant.name, scale, rows, predictions, items, counts, mean_task
                )
                del predictions
            if not main:
                continue
            baseline = _pick_baseline([i.name for i in infos])
            stats = statistics.compare_variants(
                point,
                samples,
                metrics,
                plan=plan,
                baseline=baseline,
                oracle="hr",
                not_measurable=unmeasurable,
            )
            all_variants[scale] = infos
            all_stats[scale] = stats
            all_psnr[scale] = psnr_means
            all_items[scale] = item_rows
            baselines[scale] = baseline
            lines, status = self._verdicts(scale, infos, stats, baseline, metrics[0])
            verdicts += lines
            power[scale] = status.to_dict(metrics[0])
            # crops re-read SR images from the cache: keep them out of the hit/miss counts
            hits, misses = self.cache.hits, self.cache.misses
            if self.n_crops > 0 and baseline is not None:
                crops += self._crops(scale, items, lr_images, live, item_rows, baseline, metrics[0])
            self.cache.hits, self.cache.misses = hits, misses
        counts = self.ranks.gather((self.cache.hits, self.cache.misses))
        if not main or counts is None:
            return None
        cache_hits, cache_misses = (sum(c[k] for c in counts) for k in (0, 1))
        if self.cache.enabled and cache_hits + cache_misses:
            self._note(
                f"upscale cache: {cache_hits} hits, {cache_misses} misses ({self.cache.root})"
            )
        return ComparisonResult(
            task=task.name,
            metrics=metrics,
            lower_is_better=frozenset(task.lower_is_better),
            dataset=_describe_dataset(self.dataset),
            scales=list(self.scales),
            variants=all_variants,
            stats=all_stats,
            psnr=all_psnr,
            item_scores=all_items,
            baseline=baselines,
            verdicts=verdicts,
            notes=list(self.notes),
            settings={
                "sr": [getattr(s, "name", s) for s in self.sr],
                "compare": list(self.compare),
                "scales": list(self.scales),
                "device": self.device,
                "precision": self.precision,
                "bootstrap": self.bootstrap,
                "bootstrap_kind": "cluster" if any(g is not None for g in groups) else "item",
                "intervals": plan.describe(),
                "confidence": self.confidence,
                "seed": self.seed,
                "chunk_size": self.chunk_size,
                "evaluate_is_item_mean": mean_task,
                "degradation": (
                    "modcrop + MATLAB bicubic 1/scale, uint8 (srpipe.image.resize.degrade)"
                ),
            },
            environment=environment(),
            paper_metrics=getattr(task, "paper_table_metrics", None),
            crops=crops,
            power=power,
        )

    def _distributions(
        self,
        name: str,
        scale: int,
        rows: list[dict[str, Any]],
        predictions: list[Any],
        items: list[Item],
        counts: np.ndarray,
        mean_task: bool,
    ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """One variant's metrics on the full set and on every bootstrap resample."""
        task = self.task
        metrics = tuple(task.metrics)
        if mean_task:
            scores = {m: np.array([_num(r["scores"].get(m)) for r in rows]) for m in metrics}
            empty = [m for m in metrics if np.isnan(scores[m]).all()]
            if empty:
                raise SrpipeError(
                    f"task {task.name!r} sets evaluate_is_item_mean but item_scores() "
                    f"gave no {', '.join(empty)}; return every metric per item"
                )
            point = {m: _nanmean(scores[m]) for m in metrics}
            return point, {m: statistics.bootstrap_means(scores[m], counts) for m in metrics}
        point = _evaluate(task, predictions, items, metrics)
        # a dataset metric like mAP must be recomputed on every resample
        bar = self._bar(len(counts), f"x{scale} {name} bootstrap")
        try:
            samples = statistics.bootstrap_evaluate(
                lambda idx: _evaluate(
                    task, [predictions[i] for i in idx], [items[i] for i in idx], metrics
                ),
                metrics,
                counts,
                on_step=bar.update,
            )
        finally:
            bar.close()
        return point, samples

    def _run_variant(
        self,
        variant: Variant,
        scale: int,
        items: list[Item],
        lr_images: Sequence[np.ndarray | None],
        chunks: Sequence[tuple[int, int]],
        *,
        keep: bool,
    ) -> tuple[VariantInfo, list[Any], list[dict[str, Any]]] | None:
        """Predict and score one variant over the items of ``chunks``, chunk by chunk."""
        task = self.task
        info = VariantInfo(
            variant.name,
            scale,
            variant.kind,
            variant.meta.get("method"),
            variant.meta.get("weights_hash"),
            variant.to_hr,
        )
        predictions: list[Any] = []
        rows: list[dict[str, Any]] = []
        bar = self._bar(sum(end - start for start, end in chunks), f"x{scale} {variant.name}")
        try:
            for start, end in chunks:
                chunk = items[start:end]
                self._working_on = [item.id for item in chunk]
                lrs = [lr for lr in lr_images[start:end] if lr is not None]
                images = self._images(variant, scale, chunk, lrs, info)
                tic = time.perf_counter()
                # HR is the same image at every scale unless modcrop cut it: predict it once
                oracle = variant.kind == "oracle" and variant.predict is None
                keys = [(variant.name, start + k, image.shape) for k, image in enumerate(images)]
                if oracle and all(key in self._oracle_predictions for key in keys):
                    preds = [self._oracle_predictions[key] for key in keys]
                else:
                    try:
                        preds = self._predict(variant, images)
                    except Exception:
                        self._find_culprit(variant, chunk, images)
                        raise
                    if oracle and len(preds) == len(keys):
                        self._oracle_predictions.update(zip(keys, preds))
                if len(preds) != len(images):
                    raise SrpipeError(
                        f"task {task.name!r} returned {len(preds)} predictions for "
                        f"{len(images)} images; predict must return one per image"
                    )
                if variant.to_hr != 1.0:
                    try:
                        preds = [task.rescale(p, variant.to_hr) for p in preds]
                    except NotImplementedError:
                        self._note(
                            f"variant {variant.name!r} skipped: task {task.name!r} cannot "
                            "map predictions back to HR coordinates (Task.rescale)"
                        )
                        return None
                info.seconds_predict += time.perf_counter() - tic
                for item, image, pred in zip(chunk, images, preds, strict=True):
                    self._working_on = [item.id]
                    try:
                        raw = task.item_scores(pred, item) or {}
                    except SrpipeError as exc:
                        raise SrpipeError(
                            f"item {item.id!r}, variant {variant.name!r}: {exc}"
                        ) from None
                    scores = {k: float(v) for k, v in raw.items()}
                    quality = None  # HR against itself: infinite, not worth computing
                    if not oracle and image.shape == item.image.shape:
                        value = psnr(image, item.image, shave=scale)
                        quality = float(value) if math.isfinite(value) else None
                    row = {
                        "id": item.id,
                        "group": item.group,
                        "psnr_vs_hr": quality,
                        "scores": scores,
                    }
                    # what the task saw, for a reader to audit (compact: Task.describe)
                    described = task.describe(pred)
                    if described is not None:
                        row["prediction"] = plain(described)
                    rows.append(row)
                    call_optional_hook(
                        "srpipe_item_scored",
                        task_name=task.name,
                        variant=variant.name,
                        item_id=item.id,
                        scores=scores,
                    )
                if keep:
                    predictions.extend(preds)
                info.items += len(chunk)
                bar.update(len(chunk))
        finally:
            bar.close()
        return info, predictions, rows

    def _images(
        self,
        variant: Variant,
        scale: int,
        chunk: list[Item],
        lrs: list[np.ndarray],
        info: VariantInfo,
    ) -> list[np.ndarray]:
        """The images ``variant`` shows the task for one chunk (SR through the cache)."""
        tic = time.perf_counter()
        upscaler = variant.meta.get("upscaler")
        if upscaler is not None:
            timing: dict[str, float] = {}

            def compute(batch: list[np.ndarray]) -> list[np.ndarray]:
                start = time.perf_counter()
                out = upscaler.upscale_batch(batch)
                timing["seconds"] = (time.perf_counter() - start) / max(len(batch), 1)
                return out

            if upscaler.weights_hash is not None:
                images, hits = self.cache.upscale_many(
                    lrs, str(upscaler.method), scale, upscaler.weights_hash, compute
                )
            else:
                # without a weights hash two different models could share a key: no caching
                self._note(f"{variant.name}: not cached (its weights have no sha256)")
                images, hits = compute(list(lrs)), [False] * len(lrs)
            info.cache_hits += sum(hits)
            for item, hit in zip(chunk, hits, strict=True):
                if not hit:
                    call_optional_hook(
                        "srpipe_item_upscaled",
                        item_id=item.id,
                        method=variant.name,
                        scale=scale,
                        seconds=timing.get("seconds", 0.0),
                    )
        else:
            images = []
            for item, lr in zip(chunk, lrs, strict=True):
                start = time.perf_counter()
                images.append(variant.prepare(item.image, lr))
                if variant.meta.get("method") in CLASSIC_METHODS:
                    call_optional_hook(
                        "srpipe_item_upscaled",
                        item_id=item.id,
                        method=variant.name,
                        scale=scale,
                        seconds=time.perf_counter() - start,
                    )
        info.seconds_image += time.perf_counter() - tic
        for image, item in zip(images, chunk, strict=True):
            if variant.to_hr == 1.0 and image.shape[:2] != item.image.shape[:2]:
                raise SrpipeError(
                    f"variant {variant.name!r} made a {image.shape[1]}x{image.shape[0]} image for "
                    f"HR {item.image.shape[1]}x{item.image.shape[0]} at x{scale}; a variant with "
                    "to_hr=1 must produce HR-sized images"
                )
        return images

    def _predict(self, variant: Variant, images: list[np.ndarray]) -> list[Any]:
        if variant.predict is not None:
            return variant.predict(self.task, images)
        return self.task.predict(images)

    def _find_culprit(self, variant: Variant, chunk: list[Item], images: list[np.ndarray]) -> None:
        """Under torchrun, name the one item of a failed batch that fails alone, if any."""
        if not self.ranks.distributed or len(chunk) < 2:
            return
        for item, image in zip(chunk, images, strict=True):
            try:
                self._predict(variant, [image])
            except Exception:
                self._working_on = [item.id]
                return

    # -- sharding ----------------------------------------------------------------------
    def shares(self) -> list[list[tuple[int, int]]]:
        """Per rank, the chunks ``(start, end)`` of items it runs, in item order.

        Chunks are the single-process ones (``chunk_size`` items from 0, never across a
        group when the task has ``sequential_groups``), so every batch an upscaler or a
        task sees is the batch a single process would give it and the numbers are the
        same. A task with ``sequential_groups`` gets whole groups per rank. Units go to
        the least-loaded rank by HR pixels (SR time grows with pixels).
        """
        items = self.dataset.items
        units: list[list[tuple[int, int]]] = []
        if getattr(self.task, "sequential_groups", False):
            start = 0
            for i in range(1, len(items) + 1):
                if (
                    i < len(items)
                    and items[i].group is not None
                    and (items[i].group == items[i - 1].group)
                ):
                    continue
                units.append(
                    [(s, min(s + self.chunk_size, i)) for s in range(start, i, self.chunk_size)]
                )
                start = i
        else:
            units = [
                [(s, min(s + self.chunk_size, len(items)))]
                for s in range(0, len(items), self.chunk_size)
            ]
        costs = [
            sum(item.image.shape[0] * item.image.shape[1] for a, b in unit for item in items[a:b])
            for unit in units
        ]
        return [
            sorted(chunk for u in share for chunk in units[u])
            for share in assign(costs, self.ranks.world_size)
        ]

    def _degrade_share(
        self, chunks: Sequence[tuple[int, int]], scale: int, out: list[np.ndarray | None]
    ) -> None:
        for start, end in chunks:
            for i in range(start, end):
                self._working_on = [self.dataset.items[i].id]
                # degrade() crops itself; given the uncropped HR its errors name the real size
                out[i] = _degrade(self.dataset.items[i], scale)

    def _guarded(
        self, scale: int, variant: Variant | None, work: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """Run this rank's ``work``; under torchrun, every rank learns whether all succeeded.

        A failure becomes one line naming the rank and the item it was working on, raised
        on every rank (:class:`srpipe.distributed.RankFailed`), so no rank waits forever
        for a gather and rank 0 writes no report.
        """
        if not self.ranks.distributed:
            return work(*args, **kwargs)
        self._working_on = []
        error, result = None, None
        try:
            result = work(*args, **kwargs)
        except Exception as exc:
            where = f"x{scale}" + (f", variant {variant.name!r}" if variant is not None else "")
            what = describe_items(self._working_on) if self._working_on else "setup"
            error = f"{what} ({where}): {one_line(exc)}"
        self.ranks.check(error)
        return result

    def _gather_variant(
        self,
        outcome: tuple[VariantInfo, list[Any], list[dict[str, Any]]] | None,
        chunks: Sequence[tuple[int, int]],
        n_items: int,
    ) -> tuple[VariantInfo, list[Any], list[dict[str, Any]]] | None:
        """Every rank's rows and predictions for one variant, in item order, on rank 0."""
        indices = [i for start, end in chunks for i in range(start, end)]
        parts = self.ranks.gather((outcome, indices, list(self.notes)))
        if parts is None:
            return None  # not rank 0: its share is with rank 0 now
        for _, _, notes in parts:
            for note in notes:
                self._note(note)
        # a rank with no items cannot tell that a variant must be skipped; one that can tells
        if any(part is None and idx for part, idx, _ in parts):
            return None
        done = [(part, idx) for part, idx, _ in parts if part is not None]
        info = dataclasses.replace(done[0][0][0], items=0, notes=list(done[0][0][0].notes))
        info.seconds_image = info.seconds_predict = 0.0
        info.cache_hits = 0
        rows: list[Any] = [None] * n_items
        predictions: list[Any] = [None] * n_items
        keep = False
        for (part_info, part_predictions, part_rows), idx in done:
            # work summed over ranks: the report's seconds are compute time, not wall time
            info.items += part_info.items
            info.seconds_image += part_info.seconds_image
            info.seconds_predict += part_info.seconds_predict
            info.cache_hits += part_info.cache_hits
            keep = keep or bool(part_predictions)
            for k, i in enumerate(idx):
                rows[i] = part_rows[k]
                if part_predictions:
                    predictions[i] = part_predictions[k]
        return info, predictions if keep else [], rows

    def _verdicts(
        self,
        scale: int,
        infos: list[VariantInfo],
        stats: dict[str, dict[str, MetricComparison]],
        baseline: str | None,
        metric: str,
    ) -> tuple[list[str], Power]:
        contenders = [info.name for info in infos if info.kind in ("sr", "task")]
        return sr_verdicts(
            stats,
            contenders,
            metric=metric,
            scale=scale,
            baseline=baseline,
            lower_is_better=metric in self.task.lower_is_better,
            more_data=self.task.more_data(self.dataset.items),
            digits=_digits(stats[name][metric].value.value for name in stats),
        )

    def _crops(
        self,
        scale: int,
        items: list[Item],
        lr_images: list[np.ndarray | None],
        live: dict[str, Variant],
        rows: dict[str, list[dict[str, Any]]],
        baseline: str,
        metric: str,
    ) -> list[Crop]:
        """Crops of the items where the first SR variant and the baseline differ most."""
        contender = next((name for name, v in live.items() if v.kind == "sr"), None)
        contender = contender or next((n for n, v in live.items() if v.kind == "task"), None)
        if contender is None or live[baseline].to_hr != 1.0 or live[contender].to_hr != 1.0:
            return []
        chosen, reason = choose_items(rows[baseline], rows[contender], metric, self.n_crops)
        crops = []
        for index in chosen:
            item, lr = items[index], lr_images[index]
            if lr is None:  # another rank's item
                lr = _degrade(self.dataset.items[index], scale)
            panels = []
            for name in ("hr", baseline, contender):
                variant = live.get(name)
                if variant is None:
                    continue
                info = VariantInfo(name, scale, variant.kind)
                image = self._images(variant, scale, [item], [lr], info)[0]
                pred = (
                    variant.predict(self.task, [image])
                    if variant.predict is not None
                    else self.task.predict([image])
                )[0]
                drawn = self.task.draw(image, pred)
                row = rows[name][index]
                value = row["scores"].get(metric)
                caption = f"{metric} {value:.4g}" if value is not None else ""
                if row["psnr_vs_hr"] is not None and metric.lower() != "psnr":
                    caption += f"  PSNR {row['psnr_vs_hr']:.2f} dB"
                panels.append((name if name != "hr" else "HR", drawn, caption.strip(), image))
            crop = make_crop(scale, item.id, panels, reason)
            if crop is not None:
                crops.append(crop)
        return crops


# ---------------------------------------------------------------------------------------
def _check_baselines(names: Iterable[str]) -> list[str]:
    out = []
    for raw in names:
        name = raw.strip().lower()
        if name in ("hr", ""):
            continue  # the oracle always runs
        if name not in BASELINE_NAMES:
            raise UsageError(
                f"unknown baseline {raw!r} in --compare; use {', '.join(BASELINE_NAMES)} "
                "(SR models go in --sr)"
            )
        if name not in out:
            out.append(name)
    # report order: lr, nearest, bilinear, bicubic
    return sorted(out, key=BASELINE_NAMES.index)


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


def _pick_baseline(names: list[str]) -> str | None:
    """bicubic when it ran, else the first classic baseline, else the LR input."""
    for name in ("bicubic", "bilinear", "nearest", "lr"):
        if name in names:
            return name
    return None


def _at_scale(item: Item, scale: int) -> Item:
    """The item as scored at ``scale``: HR cropped to a multiple of it (a view, no copy)."""
    return dataclasses.replace(
        item, image=modcrop(item.image, scale), meta={**item.meta, "scale": scale}
    )


def _degrade(item: Item, scale: int) -> np.ndarray:
    try:
        return degrade(item.image, scale)
    except SrpipeError as exc:
        raise SrpipeError(f"item {item.id!r}: {exc}") from None


def _evaluate(
    task: Task, predictions: Sequence[Any], items: Sequence[Item], metrics: Sequence[str]
) -> dict[str, float]:
    values = task.evaluate(predictions, items) or {}
    missing = [m for m in metrics if m not in values]
    if missing:
        raise SrpipeError(
            f"task {task.name!r}: evaluate() did not return {', '.join(missing)}; it must "
            "return every metric in Task.metrics"
        )
    return {m: float(values[m]) for m in metrics}


def _describe_dataset(dataset: Dataset) -> dict[str, Any]:
    groups = {item.group for item in dataset.items if item.group is not None}
    sizes = [item.image.shape[:2] for item in dataset.items]
    return {
        "name": dataset.name,
        "description": dataset.description,
        "items": len(dataset),
        "groups": len(groups) if groups else None,
        "min_size": [int(min(s[1] for s in sizes)), int(min(s[0] for s in sizes))],
        "max_size": [int(max(s[1] for s in sizes)), int(max(s[0] for s in sizes))],
        "meta": {k: plain(v) for k, v in dataset.meta.items()},
    }


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _nanmean(values: np.ndarray) -> float:
    """Mean over the items where the metric is defined (NaN left out, inf kept)."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else math.nan


def _digits(values: Iterable[float]) -> int:
    """Decimals for a metric: 2 for dB-like magnitudes, 4 for fractions (as the papers print)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    return 2 if finite and max(finite) >= 10 else 4
