"""The variants one scale runs, and the images each one shows the task for a chunk.

This is where the comparison touches upscaling and nowhere else: which variants run (the HR
oracle, the baselines of ``--compare``, one per ``--sr`` model, those plugins add through
``srpipe_add_variants``), in which order and under which names; and how a variant makes its
pixels (classic upscaling of the LR image, or SR through the disk cache), timed and announced
to observers. Scoring never learns how an image was made.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from srpipe.comparison.journal import Journal
from srpipe.comparison.results import KIND_ORDER, VariantInfo
from srpipe.errors import SrpipeError, UsageError
from srpipe.image.resize import METHODS as CLASSIC_METHODS
from srpipe.image.resize import upscale_classic
from srpipe.plugins import call_optional_hook, get_plugin_manager
from srpipe.task import Item, Task, Variant
from srpipe.upscaling.cache import UpscaleCache
from srpipe.upscaling.upscaler import Upscaler

#: what ``--compare`` accepts besides the classic methods
BASELINE_NAMES = ("lr", *CLASSIC_METHODS)


def check_baselines(names: Iterable[str]) -> list[str]:
    """The ``--compare`` names, checked, without duplicates, in report order."""
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


def is_classic(entry: Any) -> bool:
    """Whether an ``--sr`` entry names a classic method (then it runs as a baseline)."""
    return isinstance(entry, str) and entry.lower() in CLASSIC_METHODS


def variants_at(
    scale: int,
    *,
    task: Task,
    baselines: Sequence[str],
    sr: Sequence[Any],
    device: str,
    precision: str,
    journal: Journal,
) -> list[Variant]:
    """Every variant to run at ``scale``, in report order, each under a name of its own."""
    # HR needs no LR image: its chunks are decoded but never degraded
    variants = [Variant("hr", prepare=lambda hr, lr: hr, kind="oracle", meta={"needs_lr": False})]
    for name in baselines:
        if name == "lr":
            variants.append(
                Variant("lr", prepare=lambda hr, lr: lr, to_hr=float(scale), meta={"method": "lr"})
            )
        else:
            variants.append(
                Variant(
                    name,
                    prepare=lambda hr, lr, m=name: upscale_classic(lr, scale, m),
                    meta={"method": name},
                )
            )
    for entry in sr:
        upscaler = _upscaler(entry, scale, device, precision, journal)
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
                    # the precision used, not the one asked: auto differs by machine (a
                    # ready upscaler object need not say)
                    "precision": getattr(upscaler, "precision", None),
                    "precision_reason": getattr(upscaler, "precision_reason", None) or "as asked",
                },
            )
        )
    for batch in get_plugin_manager().hook.srpipe_add_variants(task=task, scale=scale):
        for variant in batch or []:
            if variant.kind == "baseline":
                variant = dataclasses.replace(variant, kind="task")
            variants.append(variant)
    return sorted(
        _unique_names(variants),
        key=lambda v: KIND_ORDER.index(v.kind) if v.kind in KIND_ORDER else len(KIND_ORDER),
    )


def _unique_names(variants: list[Variant]) -> list[Variant]:
    """A plugin variant may clash with a model's name: the second becomes ``name-2``."""
    seen: dict[str, int] = {}
    unique = []
    for variant in variants:
        count = seen.get(variant.name, 0)
        seen[variant.name] = count + 1
        if count:
            variant = dataclasses.replace(variant, name=f"{variant.name}-{count + 1}")
        unique.append(variant)
    return unique


def _upscaler(entry: Any, scale: int, device: str, precision: str, journal: Journal) -> Any:
    """An ``--sr`` entry as an upscaler for ``scale``; None for a ready one built for another."""
    if hasattr(entry, "upscale_batch"):
        if int(getattr(entry, "scale", scale)) != scale:
            journal.note(f"{entry.name} skipped at x{scale}: it was built for x{entry.scale}")
            return None
        return entry
    return Upscaler(str(entry), scale, device=device, precision=precision)


def chunk_images(
    variant: Variant,
    scale: int,
    chunk: Sequence[Item],
    lrs: Sequence[np.ndarray],
    info: VariantInfo,
    cache: UpscaleCache,
    journal: Journal,
) -> list[np.ndarray]:
    """The images ``variant`` shows the task for one chunk (SR through the cache).

    Adds the time spent and the cache hits to ``info``.
    """
    tic = time.perf_counter()
    upscaler = variant.meta.get("upscaler")
    if upscaler is not None:
        images = _upscaled(variant, upscaler, scale, chunk, lrs, info, cache, journal)
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


def _upscaled(
    variant: Variant,
    upscaler: Any,
    scale: int,
    chunk: Sequence[Item],
    lrs: Sequence[np.ndarray],
    info: VariantInfo,
    cache: UpscaleCache,
    journal: Journal,
) -> list[np.ndarray]:
    """An SR model's images for one chunk: cached ones read, the others computed and stored."""
    seconds_each = 0.0

    def compute(batch: list[np.ndarray]) -> list[np.ndarray]:
        nonlocal seconds_each
        start = time.perf_counter()
        out = upscaler.upscale_batch(batch)
        seconds_each = (time.perf_counter() - start) / max(len(batch), 1)
        return out

    if upscaler.weights_hash is not None:
        images, hits = cache.upscale_many(
            list(lrs),
            str(upscaler.method),
            scale,
            upscaler.weights_hash,
            compute,
            precision=str(getattr(upscaler, "precision", None)),
        )
    else:
        # without a weights hash two different models could share a key: no caching
        journal.note(f"{variant.name}: not cached (its weights have no sha256)")
        images, hits = compute(list(lrs)), [False] * len(lrs)
    info.cache_hits += sum(hits)
    for item, hit in zip(chunk, hits, strict=True):
        if not hit:
            call_optional_hook(
                "srpipe_item_upscaled",
                item_id=item.id,
                method=variant.name,
                scale=scale,
                seconds=seconds_each,
            )
    return images
