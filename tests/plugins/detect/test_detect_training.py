"""The detect task's differentiable view: YOLO's loss and features with gradients, and
a saved detector that ``--detector`` loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srpipe.task import TaskContext


@pytest.fixture(scope="module")
def view(tiny_synth: Path):
    """The bundled detector's view on the tiny synthetic set (96 px: a multiple of 32)."""
    from srpipe_detect.task import DetectTask

    task = DetectTask()
    task.setup(TaskContext("eval", device="cpu", scales=(4,), options={}))
    return task.differentiable(torch.device("cpu"))


def test_training_data_is_train_and_val_with_detector_class_ids(view, tiny_synth):
    train = view.training_data("train", str(tiny_synth))
    val = view.training_data("val", str(tiny_synth))
    assert [it.id.split("/")[0] for it in train.items] == ["train"] * 3
    assert [it.id.split("/")[0] for it in val.items] == ["val"] * 2
    known = set(view.task.names)
    assert all(set(it.target["classes"].tolist()) <= known for it in train.items)


def test_loss_and_features_send_gradients_to_the_image_not_the_frozen_net(view, tiny_synth):
    from srpipe.train.datasets import to_tensor

    items = view.training_data("train", str(tiny_synth)).items[:2]
    images = torch.stack([to_tensor(it.hr_image()) for it in items]).requires_grad_(True)
    net = view.module
    net.eval().requires_grad_(False)
    loss = view.loss(images, [it.target for it in items])
    feats = view.features(images)
    assert [f.shape[-1] for f in feats] == [12, 6, 3]  # strides 8, 16, 32 of 96 px
    (loss + sum(f.abs().mean() for f in feats)).backward()
    assert float(loss.detach()) > 0 and np.isfinite(float(loss.detach()))
    assert images.grad is not None and float(images.grad.abs().sum()) > 0
    assert all(p.grad is None for p in net.parameters())


def test_a_batch_without_boxes_still_has_a_loss(view):
    images = torch.rand(1, 3, 64, 64, requires_grad=True)
    empty = {"boxes": np.zeros((0, 4), np.float32), "classes": np.zeros(0, np.int64)}
    loss = view.loss(images, [empty])
    loss.backward()
    assert np.isfinite(float(loss.detach())) and images.grad is not None


def test_saved_detector_loads_with_the_detector_option(view, tmp_path, tiny_synth):
    from srpipe_detect.task import DetectTask

    path = tmp_path / "task_best.pt"
    view.save(path)
    task = DetectTask()
    task.setup(TaskContext("run", device="cpu", options={"detector": str(path)}))
    image = view.training_data("val", str(tiny_synth)).items[0].hr_image()
    assert task.names == view.task.names
    assert len(task.predict([image])) == 1
