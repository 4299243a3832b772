"""Paired patches: aligned LR/HR crops, augmentation, determinism, LR folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srpipe.errors import SrpipeError
from srpipe.train.datasets import PairedPatchDataset, load_pairs


def test_pairs_are_protocol_degraded(tiny_data):
    from srpipe.image.resize import degrade

    pairs = load_pairs(tiny_data["train"], 2)
    assert len(pairs) == 3
    for pair in pairs:
        assert pair.hr.shape == (48, 48, 3)
        np.testing.assert_array_equal(pair.lr, degrade(pair.hr, 2))


def test_patches_are_aligned_without_augmentation(tiny_data):
    pairs = load_pairs(tiny_data["train"], 2)
    ds = PairedPatchDataset(pairs, 2, 8, augment=False, length=6, seed=3)
    for k in range(6):
        lr, hr = ds[k]
        assert lr.shape == (3, 8, 8) and hr.shape == (3, 16, 16)
        # find where the LR patch came from and check the HR patch is the same window x2
        found = False
        for pair in pairs:
            lr_u8 = (lr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            for y in range(pair.lr.shape[0] - 7):
                for x in range(pair.lr.shape[1] - 7):
                    if np.array_equal(pair.lr[y : y + 8, x : x + 8], lr_u8):
                        hr_u8 = (hr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                        found |= np.array_equal(
                            pair.hr[2 * y : 2 * y + 16, 2 * x : 2 * x + 16], hr_u8
                        )
        assert found


def test_augmentation_keeps_pairs_consistent(tiny_data):
    """An augmented pair is still (LR, HR) of the same window: downscaled HR ~ LR."""
    import torch.nn.functional as F

    pairs = load_pairs(tiny_data["train"], 2)
    ds = PairedPatchDataset(pairs, 2, 8, augment=True, length=32, seed=0)
    for k in range(32):
        lr, hr = ds[k]
        pooled = F.avg_pool2d(hr[None], 2)[0]
        assert (pooled - lr).abs().mean() < 0.05  # a misaligned flip would be far off


def test_samples_depend_only_on_seed_epoch_index(tiny_data):
    from torch.utils.data import DataLoader

    pairs = load_pairs(tiny_data["train"], 2)
    a = PairedPatchDataset(pairs, 2, 8, length=8, seed=1)
    b = PairedPatchDataset(pairs, 2, 8, length=8, seed=1)
    torch.testing.assert_close(a[5][0], b[5][0])
    b.set_epoch(1)
    assert not torch.equal(a[5][0], b[5][0])
    serial = next(iter(DataLoader(a, batch_size=8, num_workers=0)))
    parallel = next(iter(DataLoader(a, batch_size=8, num_workers=1)))
    torch.testing.assert_close(serial[0], parallel[0])
    torch.testing.assert_close(serial[1], parallel[1])


def test_lr_folder_pairs_by_name(tmp_path, tiny_data):
    import cv2

    from srpipe.image.resize import degrade

    lr_dir = tmp_path / "lr"
    lr_dir.mkdir()
    for path in sorted(tiny_data["train"].glob("*.png")):
        hr = cv2.imread(str(path))[:, :, ::-1]
        cv2.imwrite(
            str(lr_dir / f"{path.stem}x2.png"), degrade(np.ascontiguousarray(hr), 2)[:, :, ::-1]
        )
    pairs = load_pairs(tiny_data["train"], 2, lr_dir)
    assert [p.lr.shape for p in pairs] == [(24, 24, 3)] * 3


def test_lr_folder_size_mismatch(tmp_path, tiny_data):
    import cv2

    lr_dir = tmp_path / "lr"
    lr_dir.mkdir()
    for path in tiny_data["train"].glob("*.png"):
        cv2.imwrite(str(lr_dir / path.name), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(SrpipeError, match="does not match"):
        load_pairs(tiny_data["train"], 2, lr_dir)


def test_too_small_images_are_an_error(tiny_data):
    pairs = load_pairs(tiny_data["val"], 2)  # 16x16 LR
    with pytest.raises(SrpipeError, match="large enough"):
        PairedPatchDataset(pairs, 2, 32)
