"""An example srpipe task plugin in one file: does SR restore the edges of the HR image?

Install it (``pip install -e examples/srpipe_sharpness``) and you get, for free::

    srpipe run sharpness --sr edsr --scale 4 photo.jpg      # edge overlay + sharpness per image
    srpipe eval sharpness --data my_photos/ --sr edsr       # edge F1 vs HR: bicubic vs EDSR

The task finds edges with Canny. Its ground truth is the edge map of the HR image, so
``eval`` measures how many of the true edges an upscaled image recovers (F1 within one
pixel) and how sharp it is (variance of the Laplacian), per variant, with CIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import cv2
import numpy as np

from srpipe import Dataset, Item, SrpipeError, Task, TaskContext, hookimpl
from srpipe.image.io import is_image_path, read_image


class SharpnessTask(Task):
    """Edge recovery: Canny edges of the upscaled image against those of the HR image."""

    name = "sharpness"
    summary = "Edge F1 against the HR image's edges, and Laplacian sharpness"
    metrics = ("edge_f1", "laplacian_var")

    @classmethod
    def options(cls, command: str) -> list[click.Parameter]:
        return [
            click.Option(
                ["--low"], type=int, default=100, show_default=True, help="Canny low threshold."
            ),
            click.Option(
                ["--high"], type=int, default=200, show_default=True, help="Canny high threshold."
            ),
        ]

    def setup(self, ctx: TaskContext) -> None:
        self.low, self.high = ctx.option("low", 100), ctx.option("high", 200)

    def edges(self, image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return cv2.Canny(grey, self.low, self.high) > 0

    def predict(self, images: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        out = []
        for image in images:
            grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            out.append(
                {
                    "edges": self.edges(image),
                    "laplacian_var": float(cv2.Laplacian(grey, cv2.CV_64F).var()),
                }
            )
        return out

    def rescale(self, prediction: dict[str, Any], factor: float) -> dict[str, Any]:
        edges = prediction["edges"].astype(np.uint8)
        h, w = edges.shape
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        resized = cv2.resize(edges, size, interpolation=cv2.INTER_NEAREST) > 0
        return {**prediction, "edges": resized}

    def draw(self, image: np.ndarray, prediction: dict[str, Any]) -> np.ndarray:
        canvas = image.copy()
        canvas[prediction["edges"]] = (255, 0, 0)
        return canvas

    def records(self, prediction: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "edge_pixels": int(prediction["edges"].sum()),
                "laplacian_var": round(prediction["laplacian_var"], 2),
            }
        ]

    def load_dataset(self, data: str | None, **_: Any) -> Dataset:

        if data is None:
            raise SrpipeError("sharpness needs --data: a folder of HR images")
        folder = Path(data)
        files = sorted(p for p in folder.iterdir() if is_image_path(p)) if folder.is_dir() else []
        if not files:
            raise SrpipeError(f"no images found in {data}; give a folder of HR images")
        items = []
        for path in files:
            image = read_image(path)
            items.append(Item(id=path.stem, image=image, target=self.edges(image)))
        return Dataset(name=folder.name, items=items, description="HR images, Canny edges as truth")

    def item_scores(self, prediction: dict[str, Any], item: Item) -> dict[str, float]:
        truth = item.target  # the HR image's edges, found once in load_dataset
        found = prediction["edges"]
        # The harness crops HR to a multiple of the scale (bottom/right), so compare the overlap.
        h, w = min(truth.shape[0], found.shape[0]), min(truth.shape[1], found.shape[1])
        truth, found = truth[:h, :w], found[:h, :w]
        kernel = np.ones((3, 3), np.uint8)  # tolerate one pixel of displacement
        near_truth = cv2.dilate(truth.astype(np.uint8), kernel) > 0
        near_found = cv2.dilate(found.astype(np.uint8), kernel) > 0
        precision = (found & near_truth).sum() / max(found.sum(), 1)
        recall = (truth & near_found).sum() / max(truth.sum(), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        return {"edge_f1": float(f1), "laplacian_var": prediction["laplacian_var"]}

    def evaluate(self, predictions: Sequence[Any], items: Sequence[Item]) -> dict[str, float]:
        scores = [self.item_scores(p, i) for p, i in zip(predictions, items)]
        return {m: float(np.mean([s[m] for s in scores])) for m in self.metrics}


@hookimpl
def srpipe_register_tasks() -> list[type[Task]]:
    return [SharpnessTask]
