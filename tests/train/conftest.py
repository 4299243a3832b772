"""Tiny generated data and a tiny-EDSR config shared by the training tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml


def smooth_image(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random but natural-ish RGB uint8 image: upsampled noise plus a gradient."""
    import cv2

    small = rng.integers(0, 256, size=(size // 8, size // 8, 3), dtype=np.uint8)
    img = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    img += np.linspace(0, 40, size, dtype=np.float32)[None, :, None]
    return np.clip(img, 0, 255).astype(np.uint8)


def write_images(folder: Path, count: int, size: int, seed: int) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        cv2.imwrite(str(folder / f"img{i}.png"), smooth_image(rng, size)[:, :, ::-1])
    return folder


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    """Three 48x48 training and two 32x32 validation HR images."""
    root = tmp_path_factory.mktemp("srdata")
    return {
        "train": write_images(root / "train", 3, 48, 1),
        "val": write_images(root / "val", 2, 32, 2),
    }


def tiny_config(
    tmp_path: Path, data: dict[str, Path], name: str = "run", overrides: tuple[str, ...] = ()
) -> dict:
    """A resolved config for a 1-block, 8-feature EDSR x2 on 8x8 patches."""
    from srpipe.train.config import load_config

    text = {
        "name": name,
        "out_dir": str(tmp_path / "{name}"),
        "scale": 2,
        "threads": 1,
        "model": {"arch": "edsr", "hyper": {"n_resblocks": 1, "n_feats": 8}},
        "data": {
            "train": str(data["train"]),
            "val": str(data["val"]),
            "patch_size": 8,
            "batch_size": 2,
            "epoch_batches": 4,
        },
        "optim": {"lr": 1e-3},
        "train": {
            "iterations": 10,
            "val_every": 5,
            "checkpoint_every": 5,
            "log_every": 5,
            "tensorboard": False,
            "progress": False,
        },
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(text))
    return load_config(path, overrides)


def write_config(
    tmp_path: Path, data: dict[str, Path], name: str, overrides: tuple[str, ...] = ()
) -> Path:
    """The tiny config as a YAML file (for CLI subprocess tests)."""
    config = tiny_config(tmp_path, data, name, overrides)
    path = tmp_path / f"{name}.resolved.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
