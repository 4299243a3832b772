"""Paired LR/HR data for training and validation.

Training samples are random LR patches (48x48 by default) with the matching HR patch,
randomly flipped and rotated by multiples of 90 degrees. The LR image is either read from
an LR folder or made from the HR image with the protocol's bicubic
(:func:`srpipe.image.resize.degrade`)
*once per image* when the dataset is built: degrading the whole image and then cropping
matches how test LR images are made, whereas degrading a crop would mirror-pad its borders.

Every sample is a pure function of ``(seed, epoch, index)``: the image, the crop and the
augmentation come from a generator seeded with those three numbers. Results therefore do
not depend on the number of DataLoader workers, and a resumed run sees exactly the samples
an uninterrupted run would have seen.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from srpipe.data.registry import resolve_dataset
from srpipe.data.samples import split_files
from srpipe.errors import SrpipeError
from srpipe.image.io import is_image_path, read_image
from srpipe.image.resize import degrade, modcrop


def resolve_images(spec: str | Path) -> list[Path]:
    """Image files named by a data spec.

    ``samples:train`` / ``samples:val`` is the offline corpus (built on first use); an existing
    folder gives its images (sorted); otherwise ``spec`` is looked up as a fetched dataset name
    (``div2k``, ``set5``, ...) in the cache dir.
    """

    text = str(spec)
    if text.startswith("samples:"):
        return split_files(text.split(":", 1)[1])
    path = Path(text).expanduser()
    if not path.exists():
        path = resolve_dataset(text)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and is_image_path(p))
    if not files:
        raise SrpipeError(f"no images found in {path}; point data.train/data.val at image folders")
    return files


def _lr_partner(hr: Path, lr_files: dict[str, Path], scale: int) -> Path:
    """The LR file of ``hr``: same stem, or DIV2K's ``0001x4`` naming."""
    for stem in (hr.stem, f"{hr.stem}x{scale}", f"{hr.stem}_x{scale}"):
        if stem in lr_files:
            return lr_files[stem]
    raise SrpipeError(f"no LR image for {hr.name} in the LR folder (tried {hr.stem}x{scale}.*)")


@dataclass
class Pair:
    """One LR/HR image pair (uint8 HWC RGB), HR modcropped so that HR = LR * scale."""

    name: str
    lr: np.ndarray
    hr: np.ndarray


def load_pairs(
    hr_spec: str | Path, scale: int, lr_spec: str | Path | None = None, limit: int = 0
) -> list[Pair]:
    """Read HR images (and LR ones if ``lr_spec``), or degrade HR with the protocol bicubic."""

    hr_files = resolve_images(hr_spec)
    if limit:
        hr_files = hr_files[:limit]
    lr_by_stem = {p.stem: p for p in resolve_images(lr_spec)} if lr_spec else None
    pairs = []
    for path in hr_files:
        hr = modcrop(read_image(path), scale)
        if lr_by_stem is not None:
            lr = read_image(_lr_partner(path, lr_by_stem, scale))
            if lr.shape[0] * scale != hr.shape[0] or lr.shape[1] * scale != hr.shape[1]:
                raise SrpipeError(
                    f"{path.name}: LR {lr.shape[1]}x{lr.shape[0]} times {scale} does not match "
                    f"HR {hr.shape[1]}x{hr.shape[0]}"
                )
        else:
            lr = degrade(hr, scale)
        pairs.append(Pair(path.stem, np.ascontiguousarray(lr), np.ascontiguousarray(hr)))
    return pairs


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 HWC -> float CHW in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div_(255.0)


class PairedPatchDataset(Dataset):
    """Random aligned (LR, HR) patches; ``len`` is one virtual epoch of samples.

    Images smaller than a patch are skipped (with their names kept in ``skipped``).
    """

    def __init__(
        self,
        pairs: list[Pair],
        scale: int,
        patch_size: int = 48,
        *,
        augment: bool = True,
        length: int = 16000,
        seed: int = 0,
    ) -> None:
        self.scale = int(scale)
        self.patch_size = int(patch_size)
        self.augment = augment
        self.length = int(length)
        self.seed = int(seed)
        self.epoch = 0
        self.pairs = [
            p for p in pairs if p.lr.shape[0] >= patch_size and p.lr.shape[1] >= patch_size
        ]
        self.skipped = [p.name for p in pairs if p not in self.pairs]
        if not self.pairs:
            raise SrpipeError(
                f"no training image is large enough for {patch_size}x{patch_size} LR patches "
                f"at x{scale}; use smaller data.patch_size or larger images"
            )

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose samples ``__getitem__`` returns."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        pair = self.pairs[int(rng.integers(len(self.pairs)))]
        p, s = self.patch_size, self.scale
        y = int(rng.integers(pair.lr.shape[0] - p + 1))
        x = int(rng.integers(pair.lr.shape[1] - p + 1))
        lr = pair.lr[y : y + p, x : x + p]
        hr = pair.hr[y * s : (y + p) * s, x * s : (x + p) * s]
        if self.augment:
            hflip, vflip, transpose = rng.integers(2, size=3)
            if hflip:
                lr, hr = lr[:, ::-1], hr[:, ::-1]
            if vflip:
                lr, hr = lr[::-1], hr[::-1]
            if transpose:  # with the flips: all 8 rotations/reflections
                lr, hr = lr.transpose(1, 0, 2), hr.transpose(1, 0, 2)
        return to_tensor(lr), to_tensor(hr)


def worker_init(_: int) -> None:
    """DataLoader workers ignore Ctrl-C: the main process handles it and saves a checkpoint."""

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
