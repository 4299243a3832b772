"""Which variants a scale runs, under which names and in which order; their images."""

from __future__ import annotations

from pathlib import Path

import pytest

from srpipe.comparison.degraded import DegradedSet
from srpipe.comparison.journal import Journal
from srpipe.comparison.results import VariantInfo
from srpipe.comparison.variants import check_baselines, chunk_images, variants_at
from srpipe.errors import SrpipeError, UsageError
from srpipe.task import Variant
from srpipe.upscaling.cache import UpscaleCache
from tests.comparison.test_compare import BrightnessTask, OracleUpscaler, make_dataset


def test_baselines_are_checked_deduplicated_and_in_report_order() -> None:
    assert check_baselines(["Bicubic", "hr", "lr", "nearest", "bicubic"]) == [
        "lr",
        "nearest",
        "bicubic",
    ]
    with pytest.raises(UsageError, match=r"unknown baseline 'edsr'.*SR models go in --sr"):
        check_baselines(["edsr"])


def test_variants_in_report_order_and_a_ready_upscaler_only_at_its_scale() -> None:
    data = make_dataset(2)
    journal = Journal()
    ready = OracleUpscaler(data.items, 2)
    common = {"task": BrightnessTask(), "device": "cpu", "precision": "fp32", "journal": journal}
    at2 = variants_at(2, baselines=["lr", "bicubic"], sr=[ready], **common)
    assert [(v.name, v.kind) for v in at2] == [
        ("hr", "oracle"),
        ("lr", "baseline"),
        ("bicubic", "baseline"),
        ("oracle", "sr"),
    ]
    at3 = variants_at(3, baselines=["bicubic"], sr=[ready], **common)
    assert [v.name for v in at3] == ["hr", "bicubic"]
    assert journal.notes == ["oracle skipped at x3: it was built for x2"]


def test_sr_images_come_from_the_cache_the_second_time(tmp_path: Path) -> None:
    data = make_dataset(2)
    journal = Journal()
    upscaler = OracleUpscaler(data.items, 2)
    (variant,) = [
        v
        for v in variants_at(
            2, task=BrightnessTask(), baselines=[], sr=[upscaler], device="cpu",
            precision="fp32", journal=journal,
        )
        if v.kind == "sr"
    ]  # fmt: skip
    chunk = DegradedSet(2, data.items, [(0, 2)]).prepare(0, 2)
    lrs = chunk.lrs
    cache = UpscaleCache(tmp_path / "cache")
    for expected_hits in (0, 2):
        info = VariantInfo(variant.name, 2, variant.kind)
        images = chunk_images(variant, 2, chunk.items, lrs, info, cache, journal)
        assert info.cache_hits == expected_hits
        assert [im.shape for im in images] == [it.image.shape for it in chunk.items]
    assert len(upscaler.seen_shapes) == 2  # computed once per image


def test_a_variant_that_must_be_hr_sized_is_checked(tmp_path: Path) -> None:
    chunk = DegradedSet(2, make_dataset(1).items, [(0, 1)]).prepare(0, 1)
    wrong = Variant("half", prepare=lambda hr, lr: lr)  # to_hr=1 but LR-sized
    info = VariantInfo("half", 2, "task")
    cache = UpscaleCache(tmp_path / "cache")
    with pytest.raises(SrpipeError, match="to_hr=1 must produce HR-sized images"):
        chunk_images(wrong, 2, chunk.items, chunk.lrs, info, cache, Journal())
