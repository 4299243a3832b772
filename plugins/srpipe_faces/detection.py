"""Face detection with facenet-pytorch's MTCNN (its P/R/O-net weights ship inside the package).

MTCNN builds an image pyramid whose smallest scale looks at 12 px windows of a face of
``min_face_size`` pixels, so faces smaller than that (20 px by default) are never found,
and images whose short side is below it make MTCNN itself crash (an empty pyramid). The
detector therefore answers "no face" for such images and says why in :attr:`last_reason`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.upscaling.upscaler import resolve_device


@dataclass
class FaceDetection:
    """One face found in an image, in that image's pixel coordinates.

    ``landmarks`` are MTCNN's five points, (5, 2) as x, y: left eye, right eye, nose,
    left mouth corner, right mouth corner (left/right as seen in the image).
    """

    box: np.ndarray  # (4,) float: x1, y1, x2, y2
    score: float
    landmarks: np.ndarray  # (5, 2) float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        """Box height in pixels."""
        return float(self.box[3] - self.box[1])

    def scaled(self, factor: float) -> FaceDetection:
        """The same face in an image ``factor`` times larger (coordinates multiplied)."""
        return FaceDetection(
            self.box * factor, self.score, self.landmarks * factor, dict(self.meta)
        )


def as_rgb(image: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) from grey (H, W), grey (H, W, 1), RGBA or RGB; else SrpipeError."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise SrpipeError(
            f"face images must be uint8, got {array.dtype}; read them with srpipe.image.io"
        )
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise SrpipeError(f"expected an image of shape (H, W[, 1|3|4]), got {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        array = array[:, :, :3]
    return np.ascontiguousarray(array)


class FaceDetector:
    """MTCNN, loaded lazily, returning every face with its box, score and 5 landmarks.

    Args:
        min_face_size: smallest face (px) the pyramid looks for; MTCNN's default is 20.
        threshold: minimum face probability kept (MTCNN's own stage thresholds still apply).
        device: torch device string ("cpu", "cuda", "auto").
    """

    def __init__(
        self, min_face_size: int = 20, threshold: float = 0.9, device: str = "cpu"
    ) -> None:
        if min_face_size < 12:
            raise SrpipeError(
                f"min face size must be at least 12 px (MTCNN's window), got {min_face_size}"
            )
        self.min_face_size = int(min_face_size)
        self.threshold = float(threshold)
        self.device = _torch_device(device)
        self.last_reason: str | None = None
        self._mtcnn: Any = None

    def _model(self) -> Any:
        if self._mtcnn is None:
            from facenet_pytorch import MTCNN

            self._mtcnn = MTCNN(
                keep_all=True,
                min_face_size=self.min_face_size,
                device=self.device,
                post_process=False,
            )
        return self._mtcnn

    def detect(self, image: np.ndarray) -> list[FaceDetection]:
        """All faces in ``image`` (RGB or grey uint8), largest first; [] when none."""
        rgb = as_rgb(image)
        height, width = rgb.shape[:2]
        if min(height, width) < self.min_face_size:
            self.last_reason = (
                f"image {width}x{height} is smaller than the "
                f"{self.min_face_size} px minimum face size"
            )
            return []
        boxes, probs, points = self._model().detect(rgb, landmarks=True)
        if boxes is None:
            self.last_reason = "MTCNN found no face"
            return []
        # facenet-pytorch 2.5 returns object-dtype arrays: cast before any arithmetic
        boxes = np.asarray(boxes).astype(float).reshape(-1, 4)
        probs = np.asarray(probs).astype(float).reshape(-1)
        points = np.asarray(points).astype(float).reshape(-1, 5, 2)
        faces = [
            FaceDetection(box, float(p), lm)
            for box, p, lm in zip(boxes, probs, points)
            if p >= self.threshold
        ]
        faces.sort(key=lambda f: f.width * f.height, reverse=True)
        self.last_reason = None if faces else f"no face above probability {self.threshold}"
        return faces

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[FaceDetection]]:
        """:meth:`detect` on each image (sizes may differ, so MTCNN runs one image at a time)."""
        return [self.detect(image) for image in images]


def _torch_device(device: str) -> str:
    """srpipe's one device resolver (``auto`` -> cuda / mps / cpu; a missing GPU is an error)."""
    return resolve_device(device)
