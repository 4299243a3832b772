"""An example task plugin that SR can be trained *for*: a tiny learnt edge detector.

``edgenet`` predicts where the edges are (a two-layer conv net) and is scored against the
Canny edges of the HR image (F1). Besides ``run`` and ``eval`` it implements the optional
training contract, :class:`srpipe.DifferentiableView`, so ``srpipe train --task edgenet``
can train an SR net for it (and, with ``--recipe s2t`` or ``sr4ir``, the edge net too)::

    srpipe train --task edgenet --recipe sr4ir task.data=my_photos/ name=edges
    srpipe eval edgenet --data my_photos/val --sr runs/edges/best.safetensors \
        --edgenet-weights runs/edges/task_best.pt

``task.data`` is a folder with ``train/`` and ``val/`` images of one size (default: small
generated images of rectangles).
"""

from __future__ import annotations

from pathlib import Path

import click
import cv2
import numpy as np
import torch
from torch import nn

from srpipe import Dataset, DifferentiableView, Item, Task, hookimpl, read_image


def canny(image: np.ndarray) -> np.ndarray:
    return cv2.Canny(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), 100, 200) > 0


def edge_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1))


def images_of(data: str | None, split: str) -> list[np.ndarray]:
    if data:
        return [read_image(p) for p in sorted(Path(data, split).glob("*.png"))]
    rng = np.random.default_rng(["train", "val"].index(split))
    out = []
    for _ in range(6):
        img = np.full((32, 32, 3), 40, np.uint8)
        x, y = rng.integers(2, 18, 2)
        cv2.rectangle(img, (int(x), int(y)), (int(x) + 10, int(y) + 8), (220, 180, 90), -1)
        out.append(img)
    return out


class EdgeNetView(DifferentiableView):
    weights_option = "--edgenet-weights"

    def __init__(self, net: nn.Module) -> None:
        self.module = net

    def training_data(self, split, data=None) -> Dataset:
        items = [Item(f"{split}{i}", im, canny(im)) for i, im in enumerate(images_of(data, split))]
        return Dataset(f"edgenet-{split}", items)

    def features(self, images):
        return [self.module[1](self.module[0](images))]

    def loss(self, images, targets):
        edges = torch.from_numpy(np.stack(targets)).float().unsqueeze(1).to(images.device)
        return nn.functional.binary_cross_entropy_with_logits(self.module(images), edges)

    def save(self, path: Path) -> None:
        torch.save(self.module.state_dict(), path)


class EdgeNetTask(Task):
    name = "edgenet"
    summary = "A tiny learnt edge detector scored against HR Canny edges (F1)"
    metrics = ("edge_f1",)
    evaluate_is_item_mean = True

    @classmethod
    def options(cls, command):
        return [click.Option(["--edgenet-weights"], default=None, help="Trained edge net.")]

    def setup(self, ctx) -> None:
        torch.manual_seed(0)
        self.net = edge_net()
        if ctx.option("edgenet_weights"):
            state = torch.load(ctx.option("edgenet_weights"), weights_only=True)
            self.net.load_state_dict(state)

    def differentiable(self, device) -> EdgeNetView:
        return EdgeNetView(self.net.to(device))

    def predict(self, images):
        with torch.no_grad():
            x = torch.stack([torch.from_numpy(im).permute(2, 0, 1).float() / 255 for im in images])
            return list((self.net.cpu()(x) > 0)[:, 0].numpy())

    def load_dataset(self, data, **options) -> Dataset:
        return Dataset(
            "edgenet", [Item(p.stem, read_image(p), None) for p in sorted(Path(data).glob("*.png"))]
        )

    def item_scores(self, prediction, item):
        truth = canny(item.image)
        tp = float((prediction & truth).sum())
        return {"edge_f1": 2 * tp / max(1.0, float(prediction.sum() + truth.sum()))}


@hookimpl
def srpipe_register_tasks():
    return [EdgeNetTask]
