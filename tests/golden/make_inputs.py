"""Tiny deterministic inputs for the golden report tests (regenerate them, never commit them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srpipe.image.io import write_image


def sr_folder(root: Path) -> Path:
    """Four seeded 48x40 RGB images with edges, gradients and noise (an SR-sensitive mix)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12)
    yy, xx = np.mgrid[0:40, 0:48]
    for i in range(4):
        base = 128 + 80 * np.sin(xx * (0.3 + 0.15 * i)) * np.cos(yy * (0.2 + 0.1 * i))
        block = ((xx // (6 + i)) + (yy // (5 + i))) % 2 * 40
        image = base[..., None] + block[..., None] + rng.normal(0, 12, (40, 48, 3))
        write_image(root / f"im{i}.png", np.clip(image, 0, 255).astype(np.uint8))
    return root


def detect_folder(root: Path) -> Path:
    """The detect plugin's generator at its smallest: 1 train + 3 val images of 96 px."""
    from srpipe_detect.synth import SynthConfig, generate

    cfg = SynthConfig(train=1, val=3, size=96, min_objects=3, max_objects=5, seed=0)
    return generate(root, cfg)
