"""Process-wide detectors and embedders, for code that has no faces task.

A :class:`~srpipe_faces.task.FaceTask` owns its detector and embedder (created in
``setup``) and its dataset readers use the task's, so nothing here is used on the
``run``/``eval`` paths. What is left has no task to ask:

* the offline set's builder (``srpipe data synth faces``, :mod:`srpipe_faces.synth`): its
  crops must not depend on the options of whichever task asked for the set first, so it
  detects with fixed settings, and it is a plain function that a process (the test suite,
  a script building several folders) may call more than once;
* :func:`~srpipe_faces.datasets.build_face_dataset` called without models (scripts, tests);
* maintenance scripts (``scripts/``, ``experiments/faces/``).

Caching keeps those callers from loading MTCNN or an embedder once per call.
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
