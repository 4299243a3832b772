"""One detector and one embedder per configuration per process.

The dataset readers (called by the harness) and the task (called for predictions) must
use the *same* embedder, or the gallery and probe embeddings would not be comparable;
they also should not load the networks twice. Both ask here.
"""

from __future__ import annotations

from functools import lru_cache

from srpipe_faces.detection import FaceDetector
from srpipe_faces.embedders import Embedder, get_embedder


@lru_cache(maxsize=4)
def shared_detector(min_face_size: int = 20, device: str = "cpu") -> FaceDetector:
    """The process-wide MTCNN for these settings (weights load on first detection)."""
    return FaceDetector(min_face_size=min_face_size, device=device)


@lru_cache(maxsize=4)
def shared_embedder(
    name: str = "dlib", weights: str | None = None, device: str = "cpu"
) -> Embedder:
    """The process-wide embedder for these settings (raises SrpipeError if weights are missing)."""
    return get_embedder(name, weights, device)
