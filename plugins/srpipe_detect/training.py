"""The detect task's differentiable view: YOLO's own loss and neck features, with gradients.

``model.predict`` runs under ``torch.inference_mode`` (no gradients) and its AutoBackend
fuses Conv+BN in place, so training never goes through it: the view works on a deep copy
of the loaded ``DetectionModel`` and calls its layers and its criterion directly.

* :meth:`DetectView.loss`: ``model.init_criterion()`` (``v8DetectionLoss``, or E2ELoss for
  end-to-end heads) on the raw head outputs, with ultralytics' batch dict (``batch_idx``,
  ``cls``, ``bboxes`` as normalised xywh). A loaded model's ``.args`` is a plain dict, but
  the criterion reads the ``box``/``cls``/``dfl`` gains as attributes (ultralytics issues
  16304, 16189): the view gives it a namespace over ultralytics' defaults. The criterion
  returns the gain-weighted (box, cls, dfl) sum times the batch size; the view divides by
  the batch size so the task weights of the recipes mean the same at any batch size.
* :meth:`DetectView.features`: the feature maps the Detect head reads (the neck's P3/P4/P5
  outputs), SR4IR's "task-driven perceptual" levels for a detector.
* :meth:`DetectView.save`: an ultralytics checkpoint (``{"model": ..., "train_args": ...}``,
  fp16 like ultralytics' own), loadable by ``--detector``.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.task import Dataset, DifferentiableView
from srpipe_detect.datasets import YoloReader
from srpipe_detect.synth import ensure_default_dataset


class DetectView(DifferentiableView):
    """The YOLO detector of a set-up :class:`~srpipe_detect.task.DetectTask`, differentiable."""

    weights_option = "--detector"
    weights_suffix = ".pt"

    def __init__(self, task: Any, device: Any) -> None:
        self.task = task
        self.device = device
        self._data: dict[tuple[str, str | None], Dataset] = {}
        self._net: Any = None

    @property
    def module(self) -> Any:  # type: ignore[override]
        """The trainable DetectionModel (a copy; the task's predictor keeps its own)."""
        if self._net is None:
            self._net = self._build()
        return self._net

    def _build(self) -> Any:
        from ultralytics.cfg import DEFAULT_CFG_DICT
        from ultralytics.utils import IterableSimpleNamespace

        if self.task.model is None:  # no --detector: the default for the training classes
            self.training_data("train")
        net = copy.deepcopy(self.task.model.model).float().to(self.device)
        args = net.args if isinstance(net.args, dict) else vars(net.args)
        net.args = IterableSimpleNamespace(**{**DEFAULT_CFG_DICT, **args})
        self.criterion = net.init_criterion()
        head = net.model[-1]
        self.feature_layers = [head.f] if isinstance(head.f, int) else list(head.f)
        self.stride = int(max(net.stride))
        return net

    def capabilities(self) -> frozenset[str]:
        """All three, known without loading the detector (it waits for the data's classes)."""
        return frozenset({"features", "loss", "trainable"})

    # -- data --------------------------------------------------------------------------
    def training_data(self, split: Literal["train", "val"], data: str | None = None) -> Dataset:
        """``train``/``val`` of the YOLO set ``data`` (default: the synthetic tiny-object set,
        whose test split is what ``srpipe eval detect`` measures), classes mapped to the
        detector's ids by name."""
        key = (split, data)
        if key not in self._data:
            path = Path(data) if data else ensure_default_dataset()
            if not YoloReader().can_read(path):
                raise SrpipeError(
                    f"task.data {data}: not a YOLO data.yaml (or a folder holding one) with "
                    "train and val splits"
                )
            dataset = YoloReader().load(path, split=split)
            names = dataset.meta.get("names") or {}
            self.task.use_detector_for(names.values())
            self._data[key] = self._to_detector_classes(dataset, names)
        return self._data[key]

    def _to_detector_classes(self, dataset: Dataset, names: dict[int, str]) -> Dataset:
        by_name = {v: k for k, v in self.task.names.items()}
        unknown = sorted({n for n in names.values() if n not in by_name})
        if unknown:
            raise SrpipeError(
                f"the detector {Path(self.task.detector_path).name} does not know the training "
                f"classes {', '.join(unknown[:5])}; pass task.options.detector=PATH trained on "
                "these classes"
            )
        for item in dataset.items:
            classes = np.asarray(item.target["classes"], np.int64)
            mapped = np.array([by_name[names[int(c)]] for c in classes], np.int64)
            item.target = {"boxes": item.target["boxes"], "classes": mapped}
        return dataset

    # -- differentiable parts ----------------------------------------------------------
    def _check_size(self, images: Any) -> None:
        h, w = images.shape[-2:]
        if h % self.stride or w % self.stride:
            raise SrpipeError(
                f"detector training needs image sides divisible by {self.stride}, got {w}x{h}; "
                "use training images whose HR size is a multiple of it"
            )

    def features(self, images: Any) -> list[Any]:
        """The maps the Detect head reads (neck outputs, strides 8/16/32)."""
        net = self.module
        self._check_size(images)
        outputs: list[Any] = []
        x = images
        for m in net.model[:-1]:
            if m.f != -1:  # input from earlier layers, as DetectionModel._predict_once
                x = (
                    outputs[m.f]
                    if isinstance(m.f, int)
                    else [x if j == -1 else outputs[j] for j in m.f]
                )
            x = m(x)
            outputs.append(x)
        return [outputs[i] for i in self.feature_layers]

    def loss(self, images: Any, targets: Sequence[Any]) -> Any:
        """YOLO's training loss (box + cls + dfl, gains applied), mean over images."""
        import torch

        net = self.module
        self._check_size(images)
        h, w = images.shape[-2:]
        idx, cls, boxes = [], [], []
        for i, target in enumerate(targets):
            xyxy = np.asarray(target["boxes"], np.float32).reshape(-1, 4)
            if not len(xyxy):
                continue
            xywh = np.stack(
                [
                    (xyxy[:, 0] + xyxy[:, 2]) / 2 / w,
                    (xyxy[:, 1] + xyxy[:, 3]) / 2 / h,
                    (xyxy[:, 2] - xyxy[:, 0]) / w,
                    (xyxy[:, 3] - xyxy[:, 1]) / h,
                ],
                1,
            )
            boxes.append(xywh)
            cls.append(np.asarray(target["classes"], np.float32))
            idx.append(np.full(len(xyxy), i, np.float32))
        device = images.device
        batch = {
            "batch_idx": torch.from_numpy(np.concatenate(idx) if idx else np.zeros(0, np.float32)),
            "cls": torch.from_numpy(np.concatenate(cls) if cls else np.zeros(0, np.float32)),
            "bboxes": torch.from_numpy(
                np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32)
            ),
        }
        batch = {k: v.to(device) for k, v in batch.items()}
        preds = net(images)
        loss, _ = self.criterion(preds, batch)
        return loss.sum() / images.shape[0]

    def save(self, path: Path) -> None:
        """An ultralytics checkpoint of the trained detector (fp16), for ``--detector``."""
        import torch
        from ultralytics import __version__

        net = copy.deepcopy(self.module).half()
        net.args = dict(vars(net.args))
        for p in net.parameters():
            p.requires_grad_(False)
        if hasattr(net, "criterion"):
            net.criterion = None
        torch.save(
            {
                "model": net,
                "ema": None,
                "optimizer": None,
                "epoch": -1,
                "train_args": dict(net.args),
                "date": datetime.datetime.now().isoformat(),
                "version": __version__,
                "trained_with": "srpipe train --task detect",
                "init": str(self.task.detector_path),
            },
            path,
        )
