"""Tiny clips, data layouts and a tiny video classifier for the action plugin's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from srpipe_action.classifier_spec import ClassifierSpec

from srpipe.hookspecs import hookimpl

SIZE = (64, 48)  # width, height
TINY = "tiny3d"


def moving_frames(count: int, direction: int, seed: int = 0) -> list[np.ndarray]:
    """Textured frames whose content moves 2 px a frame left (-1) or right (+1)."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    texture = rng.integers(0, 256, (h, w + 4 * count + 8, 3), dtype=np.uint8)
    frames = []
    for i in range(count):
        x = 2 * count + 4 + direction * 2 * i
        frames.append(np.ascontiguousarray(texture[:, x : x + w]))
    return frames


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """An mp4v clip written by OpenCV."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE)
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def ucf_folder(root: Path, groups: int = 2, clips: int = 2, count: int = 10) -> Path:
    """A UCF101-style folder: ``Left/`` and ``Right/`` of ``v_<Class>_gNN_cMM.avi``."""
    seed = 0
    for name, direction in (("Left", -1), ("Right", 1)):
        for g in range(1, groups + 1):
            for c in range(1, clips + 1):
                seed += 1
                frames = moving_frames(count, direction, seed)
                write_clip(root / name / f"v_{name}_g{g:02d}_c{c:02d}.avi", frames)
    return root


def tiny_network(classes: int):
    """A 3D convolution, pooled: enough to classify 4-frame clips, fast on a CPU."""
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv3d(3, 4, 3, padding=1),
        torch.nn.AdaptiveAvgPool3d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, classes),
    )


TINY_SPEC = ClassifierSpec(
    name=TINY,
    build=tiny_network,
    clip_length=4,
    frame_rate=5.0,
    resize=(36, 48),
    crop=(32, 32),
    mean=(0.5, 0.5, 0.5),
    std=(0.25, 0.25, 0.25),
    head="3.weight",
    summary="a tiny 3D CNN for tests",
)


class TinyClassifierPlugin:
    """Adds the tiny classifier through the action plugin's hook."""

    @hookimpl
    def action_register_classifiers(self) -> list[ClassifierSpec]:
        return [TINY_SPEC]


def save_tiny_weights(path: Path, classes: int = 2) -> Path:
    """A randomly initialised tiny network's state dict: a real "weights file"."""
    import torch

    torch.save(tiny_network(classes).state_dict(), path)
    return path
