"""Dataset names resolve to folders in the cache; missing ones say how to get them."""

from __future__ import annotations

import pytest

from srpipe.data.registry import DATASETS, get_dataset, resolve_dataset
from srpipe.errors import SrpipeError


def test_every_benchmark_of_the_papers_is_known():
    assert {"div2k", "set5", "set14", "b100", "urban100", "manga109"} <= set(DATASETS)


def test_fetched_dataset_resolves(tmp_path):
    (tmp_path / "benchmark/Set5/HR").mkdir(parents=True)
    (tmp_path / "benchmark/Set5/LR_bicubic/X4").mkdir(parents=True)
    assert resolve_dataset("Set5", root=tmp_path) == tmp_path / "benchmark/Set5/HR"
    assert resolve_dataset("set5", lr_scale=4, root=tmp_path).name == "X4"


def test_missing_dataset_says_what_to_do(tmp_path):
    with pytest.raises(SrpipeError, match="srpipe data fetch set14"):
        resolve_dataset("set14", root=tmp_path)


def test_unknown_name_lists_known():
    with pytest.raises(SrpipeError, match="known: div2k"):
        get_dataset("imagenet")


def test_no_invented_checksums():
    """A sha256 is either a real 64-hex digest or None (unknown) - never a placeholder."""
    for info in DATASETS.values():
        for archive in info.archives:
            assert archive.sha256 is None or (
                len(archive.sha256) == 64
                and int(archive.sha256, 16)
                and len(set(archive.sha256)) > 4
            )
