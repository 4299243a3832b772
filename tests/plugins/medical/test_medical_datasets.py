"""Medical items describe their slice and read its pixels only when loaded."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from srpipe.image.io import write_image


def test_folder_items_read_their_slice_only_when_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pydicom")
    from pydicom.data import get_testdata_file
    from srpipe_medical import datasets
    from srpipe_medical.reading import read_slices

    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "ct.dcm")
    ramp = (np.arange(48 * 40, dtype=np.uint32).reshape(40, 48) * 30).astype(np.uint16)
    write_image(tmp_path / "ramp.png", ramp)
    dataset = datasets.folder_dataset(tmp_path)
    reads: list[str] = []
    monkeypatch.setattr(
        datasets, "read_slices", lambda path: reads.append(path) or read_slices(path)
    )
    datasets._file_slices.cache_clear()
    items = pickle.loads(pickle.dumps(dataset.items))  # as sent to another rank
    assert [it.id for it in items] == ["ct", "ramp"] and all(it.image is None for it in items)
    assert items[1].size == (48, 40) and items[0].meta["slice"].modality == "CT"
    for item, name in zip(items, ("ct.dcm", "ramp.png")):
        pixels = item.hr_image()
        assert reads[-1] == str(tmp_path / name)
        np.testing.assert_array_equal(pixels, read_slices(tmp_path / name)[0].pixels)
    assert len(reads) == 2
