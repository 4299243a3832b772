"""scripts/train_bundled.py: the teacher pairs and patch sampling used for the bundled EDSR."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import load_script


@pytest.fixture(scope="module")
def bundled():
    return load_script("scripts/train_bundled.py")


def _corpus(root: Path) -> None:
    """A train split of one image whose top half is flat and whose bottom half is noise, and a
    teacher file of one (LR, teacher output) pair at x2."""
    rng = np.random.default_rng(0)
    hr = np.full((96, 64, 3), 20, np.uint8)
    hr[48:] = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    lr = hr[::2, ::2].copy()
    np.savez(root / "corpus.npz", **{"train/a/hr": hr, "train/a/x2/lr": lr})
    (root / "corpus.json").write_text(json.dumps({"train": ["a"], "val": []}))
    taught_lr = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    taught_hr = np.repeat(np.repeat(taught_lr, 2, 0), 2, 1)
    np.savez(
        root / "teacher_x2.npz", **{"teach/a@1/x2/lr": taught_lr, "teach/a@1/x2/hr": taught_hr}
    )
    entries = [{"key": "teach/a@1/x2", "source": "a", "factor": 1.0, "lr_shape": [40, 40, 3]}]
    (root / "teacher_x2.json").write_text(json.dumps({"teacher": "t", "entries": entries}))


def test_teacher_pairs_load_and_stay_aligned(bundled, tmp_path):
    _corpus(tmp_path)
    taught = bundled.Corpus(tmp_path, "train", 2, "cpu", 8, teacher=True)
    lr, hr = taught.batch(np.random.default_rng(1), 6, 8)
    assert lr.shape == (6, 3, 8, 8) and hr.shape == (6, 3, 16, 16)
    # the synthetic teacher output is nearest-neighbour x2 of its input: patches stay aligned
    # through the random crops, flips and transposes
    assert np.allclose(hr[:, :, ::2, ::2].numpy(), lr.numpy())


def test_min_patch_std_redraws_flat_patches(bundled, tmp_path):
    _corpus(tmp_path)
    corpus = bundled.Corpus(tmp_path, "train", 2, "cpu", 8)

    def flat_share(min_std: float) -> float:
        lr, _ = corpus.batch(np.random.default_rng(2), 200, 8, min_std)
        return float((lr.flatten(1).std(1) * 255 < 1).float().mean())

    assert flat_share(0.0) > 0.3  # half of the image is flat
    assert flat_share(5.0) < flat_share(0.0) / 4  # four redraws leave few flat patches


def test_donor_init_reads_the_safetensors_metadata(bundled, tmp_path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "donor.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata={"init": json.dumps("LIIF encoder")})
    assert bundled._donor_init(path) == "LIIF encoder"
    save_file({"w": torch.zeros(1)}, str(path), metadata={})
    assert bundled._donor_init(path) is None
