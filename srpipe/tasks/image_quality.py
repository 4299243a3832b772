"""The core's first task, ``sr``: image quality of the upscaled image itself (PSNR / SSIM).

It is how every SR paper evaluates (PROTOCOL.md): HR cropped to a multiple of the scale,
LR made with MATLAB bicubic, Y channel of BT.601, ``scale`` pixels shaved on every side,
the mean of per-image PSNRs and SSIMs. Here it runs through the very harness the
downstream tasks use, so ``srpipe eval sr`` gets paired bootstrap CIs, the HR/bicubic/SR
table, plots and crops like any plugin task, plus the papers' table layout
(rows = methods, columns = datasets, "PSNR/SSIM").

The task's "model" is the identity: its prediction for an image is the image, and the
ground truth is the HR item. It registers through ``srpipe_register_tasks`` exactly as a
third-party plugin does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import click
import numpy as np

from srpipe.data.registry import DATASETS, resolve_dataset
from srpipe.data.samples import build_samples
from srpipe.data.sources import Source
from srpipe.errors import SrpipeError
from srpipe.hookspecs import hookimpl
from srpipe.image.io import header_size, is_image_path, read_image
from srpipe.image.metrics import psnr, ssim
from srpipe.task import Dataset, Item, Task, TaskContext
from srpipe.tasks.sr_sources import SR_SOURCES


class ImageQualityTask(Task):
    """PSNR and SSIM of each upscaled image against its HR original, on Y, shave = scale.

    --data is a folder of HR images (e.g. Set5's HR folder); without it the offline
    SR test split (`srpipe data samples`, built on first use) is used: photos that no
    bundled model was trained or selected on.
    """

    name = "sr"
    summary = "Image quality: PSNR/SSIM (Y, shave=scale) of the upscaled image vs HR"
    metrics = ("psnr", "ssim")
    default_data = "samples"
    #: both metrics are means of per-image values (the protocol): the harness can vectorise
    #: its bootstrap and need not keep the images as predictions
    evaluate_is_item_mean: ClassVar[bool] = True
    #: the comparison also prints the papers' "PSNR/SSIM" table
    paper_table_metrics: ClassVar[tuple[str, ...]] = ("psnr", "ssim")

    def __init__(self) -> None:
        self.y_channel = True
        self.largest_scale = 1

    @classmethod
    def options(cls, command: str) -> list[Any]:

        if command != "eval":
            return []
        return [
            click.Option(
                ["--rgb"], is_flag=True, help="Measure on RGB instead of the protocol's Y channel."
            ),
        ]

    def setup(self, ctx: TaskContext) -> None:
        self.y_channel = not ctx.option("rgb", False)
        # an image must survive modcrop and the metric's shave at the largest scale
        self.largest_scale = max(ctx.scales or (1,))

    def predict(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The identity: an image is judged as it is."""
        return list(images)

    def rescale(self, prediction: Any, factor: float) -> Any:
        # An LR image cannot be compared pixel by pixel with HR: the ``lr`` variant is skipped.
        raise NotImplementedError("image quality needs an HR-sized image")

    def records(self, prediction: np.ndarray) -> list[dict[str, Any]]:
        return [{"width": int(prediction.shape[1]), "height": int(prediction.shape[0])}]

    def describe(self, prediction: np.ndarray) -> None:
        """Nothing to keep per item: the prediction is the image, its scores say it all."""
        return None

    def item_scores(self, prediction: np.ndarray, item: Item) -> dict[str, float]:
        """PSNR/SSIM of one image; the harness puts the scale in ``item.meta["scale"]``."""

        shave = int(item.meta.get("scale", 0))
        return {
            "psnr": psnr(prediction, item.image, shave=shave, y_channel=self.y_channel),
            "ssim": ssim(prediction, item.image, shave=shave, y_channel=self.y_channel),
        }

    def evaluate(self, predictions: Sequence[Any], items: Sequence[Item]) -> dict[str, float]:
        """Mean of per-image PSNRs and SSIMs (not the PSNR of the mean MSE)."""
        scores = [self.item_scores(p, i) for p, i in zip(predictions, items, strict=True)]
        return {m: float(np.mean([s[m] for s in scores])) for m in self.metrics}

    def load_dataset(self, data: str | None, **_: Any) -> Dataset:
        """A folder (or one file) of HR images, or the offline samples' validation split."""
        if data is None or (data == "samples" and not Path(data).exists()):
            return samples_dataset()
        path = Path(data)
        if not path.exists() and data.lower() in DATASETS:  # a benchmark name: set5, b100, ...
            return folder_dataset(
                resolve_dataset(data.lower()), name=data.lower(), scale=self.largest_scale
            )
        return folder_dataset(path, scale=self.largest_scale)


def folder_dataset(
    path: Path,
    *,
    name: str | None = None,
    groups: dict[str, str] | None = None,
    description: str = "",
    scale: int = 1,
) -> Dataset:
    """Every image in ``path`` (sorted by name; not recursive) as an HR item.

    Unreadable images and images too small for ``scale`` (modcrop plus the metric's
    border shave need more than ``2 * scale`` pixels a side) are skipped, listed on stderr
    and in ``meta["skipped"]``; the rest are scored.
    """

    if path.is_file():
        files = [path] if is_image_path(path) else []
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and is_image_path(p))
    else:
        raise SrpipeError(f"{path}: no such file or folder; pass --data a folder of HR images")
    if not files:
        raise SrpipeError(
            f"no images found in {path}; pass --data a folder of HR images "
            "(png, jpg, bmp, tif, webp)"
        )
    items, skipped = [], []
    for f in files:
        # the header says the size; only a file whose header does not is decoded here, to
        # skip it if unreadable (the others are decoded when scored)
        size = header_size(f)
        if size is None:
            try:
                image = read_image(f)
            except SrpipeError as exc:
                skipped.append({"image": str(f), "error": str(exc)})
                continue
            size = (image.shape[1], image.shape[0])
        width, height = size
        if min(height, width) <= 2 * scale:
            skipped.append(
                {
                    "image": str(f),
                    "error": f"{f}: {width}x{height} is too small to score at x{scale} "
                    f"(needs more than {2 * scale} pixels a side)",
                }
            )
            continue
        items.append(
            Item.from_file(
                f.stem, f, group=(groups or {}).get(f.name), meta={"file": str(f)}, size=size
            )
        )
    if skipped:
        lines = "\n  ".join(s["error"] for s in skipped)
        print(
            f"warning: skipped {len(skipped)} of {len(files)} images:\n  {lines}", file=sys.stderr
        )
    if not items:
        raise SrpipeError(
            f"none of the {len(files)} images in {path} can be scored (listed above); "
            "pass --data a folder of readable HR images"
        )
    note = f" ({len(skipped)} skipped: unreadable or too small)" if skipped else ""
    return Dataset(
        name=name or (path.stem if path.is_file() else path.name),
        items=items,
        description=(description or f"HR images from {path}") + note,
        meta={"path": str(path), **({"skipped": skipped} if skipped else {})},
    )


def samples_dataset() -> Dataset:
    """The test split of the offline corpus (``srpipe data samples``), one group per source.

    Its images are the registry's ``test`` sources read by the ``sr`` evaluation: no bundled
    weights were trained or selected on them (srpipe/tasks/sr_sources.py).
    """

    root = build_samples()
    manifest = json.loads((root / "manifest.json").read_text())
    groups = {
        Path(e["file"]).name: e["source"]
        for e in manifest.get("images", [])
        if e.get("split") == "test"
    }
    names = ", ".join(sorted(groups.values()))
    return folder_dataset(
        root / "test",
        name="samples-test",
        groups=groups,
        description=f"srpipe offline SR test split ({names}: photos shipped inside installed "
        "packages, never used to train or select srpipe's bundled weights; one bootstrap "
        "group per source); not a standard benchmark, so numbers are not comparable with "
        "published Set5/Set14 tables",
    )


@hookimpl
def srpipe_register_tasks() -> list[type[Task]]:
    return [ImageQualityTask]


@hookimpl
def srpipe_register_sources() -> list[Source]:
    """The SR corpus: the stills that fit and select the bundled SR weights, and the test
    stills of the ``eval sr`` default set."""
    return list(SR_SOURCES)
