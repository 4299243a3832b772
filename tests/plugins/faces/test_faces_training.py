"""The faces task's differentiable view: identity loss on unit embeddings, dlib refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from srpipe.errors import SrpipeError


def test_identity_loss_sends_gradients_to_the_image_only(tmp_path):
    from facenet_pytorch import InceptionResnetV1
    from srpipe_faces.training import FacesView

    torch.manual_seed(0)
    embedder = SimpleNamespace(name="facenet", model=InceptionResnetV1().eval(), input_size=160)
    view = FacesView(embedder, torch.device("cpu"))
    hr = torch.rand(2, 3, 64, 64)
    sr = (hr + 0.1 * torch.randn_like(hr)).clamp(0, 1).requires_grad_(True)
    targets = [v.numpy() for v in view.features(hr)[0].detach()]
    loss = view.loss(sr, targets)
    assert torch.allclose(loss, view.feature_loss(view.features(sr), view.features(hr)))
    loss.backward()
    assert float(loss.detach()) > 0 and float(sr.grad.abs().sum()) > 0
    assert all(p.grad is None for p in view.net.parameters())
    assert view.capabilities() == frozenset({"features", "loss"})  # not trainable: no labels
    # the identity of an image with itself is the minimum
    assert float(view.loss(hr, targets)) == pytest.approx(0.0, abs=1e-5)


def test_dlib_is_refused_in_one_line():
    from srpipe_faces.training import FacesView

    with pytest.raises(SrpipeError, match="not differentiable"):
        FacesView(SimpleNamespace(name="dlib", model=None, input_size=150), "cpu")


def test_training_data_needs_a_folder():
    from srpipe_faces.training import FacesView

    embedder = SimpleNamespace(name="facenet", model=torch.nn.Identity(), input_size=160)
    view = FacesView(embedder, torch.device("cpu"))
    with pytest.raises(SrpipeError, match=r"needs task\.data=FOLDER"):
        view.training_data("train")
