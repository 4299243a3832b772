"""One variant predicted and scored over this rank's chunks: a row per item.

The task sees a variant's images a chunk at a time (memory stays bounded on big sets) and
never learns how they were made; here its predictions are mapped back to HR coordinates when
the variant's images are smaller, each item is scored (``Task.item_scores``, PSNR against HR)
and announced to observers. It is apart from the statistics because it is the part that runs
on every rank; the numbers are made from its rows on rank 0 alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from srpipe.comparison.degraded import DegradedSet, PreparedChunk
from srpipe.comparison.items import encode_row
from srpipe.comparison.journal import Journal
from srpipe.comparison.results import VariantInfo, plain
from srpipe.comparison.resume import ChunkResult, ChunkStore
from srpipe.comparison.variants import chunk_images
from srpipe.errors import SrpipeError
from srpipe.image.metrics import psnr
from srpipe.plugins import call_optional_hook
from srpipe.task import Item, Task, Variant
from srpipe.upscaling.cache import UpscaleCache

#: a progress bar for ``total`` steps: ``(total, description) -> tqdm-like``
ProgressBar = Callable[[int, str], Any]


@dataclass
class VariantRun:
    """What one variant produced on this rank's items (after gathering: on every item)."""

    info: VariantInfo
    #: the task's predictions in item order; empty when the task's metrics are item means
    predictions: list[Any]
    #: one row per item (``id``, ``group``, ``psnr_vs_hr``, ``scores``, maybe ``prediction``),
    #: encoded as a JSON line (:func:`srpipe.comparison.items.encode_row`): a few hundred
    #: bytes an item rather than a dict of Python objects
    rows: list[bytes]


def predict(task: Task, variant: Variant, images: list[np.ndarray]) -> list[Any]:
    """The task's predictions on ``images``, through the variant's own predict if it has one."""
    if variant.predict is not None:
        return variant.predict(task, images)
    return task.predict(images)


class VariantScorer:
    """Runs one task over variants chunk by chunk; predicts HR once for every scale."""

    def __init__(
        self,
        task: Task,
        cache: UpscaleCache,
        journal: Journal,
        bar: ProgressBar,
        *,
        name_culprits: bool,
    ) -> None:
        """``name_culprits``: on a failed batch, find the item that fails alone (torchrun)."""
        self.task = task
        self.cache = cache
        self.journal = journal
        self.bar = bar
        self.name_culprits = name_culprits
        #: (variant, item index, HR shape) -> the task's prediction on HR, shared by scales
        self._oracle_predictions: dict[tuple[str, int, tuple[int, ...]], Any] = {}

    def run(
        self,
        variant: Variant,
        inputs: DegradedSet,
        *,
        keep: bool,
        store: ChunkStore | None = None,
        together: Sequence[Sequence[tuple[int, int]]] = (),
        device_type: str = "cpu",
    ) -> VariantRun | None:
        """Predict and score ``variant`` over this rank's chunks; None when it must be skipped.

        ``keep``: keep the predictions (a dataset metric needs them for ``Task.evaluate``).
        ``store``: finished chunks are saved there, and a chunk saved by an earlier run of
        the same eval is reused (never decoded); the chunks of each group in ``together``
        (a sequential task's group, whose scores depend on the frames before) are reused
        only all together.
        """
        self.journal.working_on = []  # a failure before the first chunk is in "setup"
        scale = inputs.scale
        info = VariantInfo(
            variant.name,
            scale,
            variant.kind,
            variant.meta.get("method"),
            variant.meta.get("weights_hash"),
            variant.to_hr,
            precision=variant.meta.get("precision"),
            precision_reason=variant.meta.get("precision_reason"),
        )
        run = VariantRun(info, [], [])
        keys: dict[tuple[int, int], str] = {}
        if store is not None and store.enabled:
            for start, end in inputs.chunks:
                items = inputs.originals[start:end]
                keys[(start, end)] = store.key(scale, variant, device_type, start, items)
        saved = _reusable_chunks(store, keys, together) if store is not None else {}
        todo = [chunk for chunk in inputs.chunks if chunk not in saved]
        prepared = inputs.prepared(todo, self.journal, variant.meta.get("needs_lr", True))
        bar = self.bar(sum(end - start for start, end in inputs.chunks), f"x{scale} {variant.name}")
        try:
            for chunk in inputs.chunks:
                done = saved.get(chunk)
                if done is None:
                    done = self._score_chunk(variant, scale, next(prepared), keep)
                    if done is None:
                        return None
                    if chunk in keys:
                        store.save(keys[chunk], done)
                run.rows.extend(encode_row(scale, variant.name, row) for row in done.rows)
                run.predictions.extend(done.predictions)
                info.seconds_image += done.seconds_image
                info.seconds_predict += done.seconds_predict
                info.cache_hits += done.cache_hits
                for note in done.notes:
                    self.journal.note(note)
                info.items += chunk[1] - chunk[0]
                bar.update(chunk[1] - chunk[0])
        finally:
            prepared.close()
            bar.close()
        return run

    def _score_chunk(
        self, variant: Variant, scale: int, chunk: PreparedChunk, keep: bool
    ) -> ChunkResult | None:
        """One prepared chunk predicted and scored; None when the variant must be skipped."""
        work = VariantInfo(variant.name, scale, variant.kind)
        notes_before = list(self.journal.notes)
        images = chunk_images(
            variant, scale, chunk.items, chunk.lrs, work, self.cache, self.journal
        )
        tic = time.perf_counter()
        preds = self._predictions(variant, chunk.start, chunk.items, images, keep)
        if preds is None:
            return None
        seconds_predict = time.perf_counter() - tic
        rows = [
            self._row(variant, scale, item, image, pred)
            for item, image, pred in zip(chunk.items, images, preds, strict=True)
        ]
        return ChunkResult(
            rows,
            list(preds) if keep else [],
            seconds_image=work.seconds_image,
            seconds_predict=seconds_predict,
            cache_hits=work.cache_hits,
            notes=[n for n in self.journal.notes if n not in notes_before],
        )

    def _predictions(
        self,
        variant: Variant,
        start: int,
        chunk: list[Item],
        images: list[np.ndarray],
        keep: bool,
    ) -> list[Any] | None:
        """One chunk's predictions in HR coordinates; None when the task cannot map them.

        HR predictions are remembered for the next scale when ``keep`` (the run holds them).
        """
        task = self.task
        # HR is the same image at every scale unless modcrop cut it: predict it once
        oracle = _is_oracle(variant)
        keys = [(variant.name, start + k, image.shape) for k, image in enumerate(images)]
        if oracle and all(key in self._oracle_predictions for key in keys):
            preds = [self._oracle_predictions[key] for key in keys]
        else:
            try:
                preds = predict(task, variant, images)
            except Exception:
                self._name_culprit(variant, chunk, images)
                raise
            # only when the run keeps predictions anyway: for a task whose metrics are item
            # means (the sr task predicts whole images) the memo would hold every item's
            # prediction and memory would grow with the set
            if oracle and keep and len(preds) == len(keys):
                self._oracle_predictions.update(zip(keys, preds))
        if len(preds) != len(images):
            raise SrpipeError(
                f"task {task.name!r} returned {len(preds)} predictions for "
                f"{len(images)} images; predict must return one per image"
            )
        if variant.to_hr == 1.0:
            return preds
        try:
            return [task.rescale(p, variant.to_hr) for p in preds]
        except NotImplementedError:
            self.journal.note(
                f"variant {variant.name!r} skipped: task {task.name!r} cannot "
                "map predictions back to HR coordinates (Task.rescale)"
            )
            return None

    def _row(
        self, variant: Variant, scale: int, item: Item, image: np.ndarray, pred: Any
    ) -> dict[str, Any]:
        """One item's scores on one variant, announced to observers."""
        task = self.task
        self.journal.working_on = [item.id]
        try:
            raw = task.item_scores(pred, item) or {}
        except SrpipeError as exc:
            raise SrpipeError(f"item {item.id!r}, variant {variant.name!r}: {exc}") from None
        scores = {k: float(v) for k, v in raw.items()}
        quality = None  # HR against itself: infinite, not worth computing
        if not _is_oracle(variant) and image.shape == item.image.shape:
            value = psnr(image, item.image, shave=scale)
            quality = float(value) if math.isfinite(value) else None
        row = {"id": item.id, "group": item.group, "psnr_vs_hr": quality, "scores": scores}
        # what the task saw, for a reader to audit (compact: Task.describe)
        described = task.describe(pred)
        if described is not None:
            row["prediction"] = plain(described)
        call_optional_hook(
            "srpipe_item_scored",
            task_name=task.name,
            variant=variant.name,
            item_id=item.id,
            scores=scores,
        )
        return row

    def _name_culprit(self, variant: Variant, chunk: Sequence[Item], images: list[Any]) -> None:
        """Name the one item of a failed batch that fails alone, if any (for the error)."""
        if not self.name_culprits or len(chunk) < 2:
            return
        for item, image in zip(chunk, images, strict=True):
            try:
                predict(self.task, variant, [image])
            except Exception:
                self.journal.working_on = [item.id]
                return


def _reusable_chunks(
    store: ChunkStore,
    keys: dict[tuple[int, int], str],
    together: Sequence[Sequence[tuple[int, int]]],
) -> dict[tuple[int, int], ChunkResult]:
    """The saved chunks this run may reuse, read back."""
    have = {chunk for chunk, key in keys.items() if store.has(key)}
    for unit in together:
        mine = [chunk for chunk in unit if chunk in keys]
        if not all(chunk in have for chunk in mine):
            have.difference_update(mine)
    loaded = {chunk: store.load(keys[chunk]) for chunk in sorted(have)}
    return {chunk: done for chunk, done in loaded.items() if done is not None}


def _is_oracle(variant: Variant) -> bool:
    """The HR oracle as the harness makes it (a plugin's own predict is not memoised)."""
    return variant.kind == "oracle" and variant.predict is None
