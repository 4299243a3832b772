"""``Detections``: the boxes the detect task returns for one image.

A module of its own because every part of the plugin speaks it (the task, the detector
runner, sliced inference, the real-footage labeller): kept beside none of them, it lets
each import the type without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Detections:
    """Boxes found in one image, in the pixel coordinates of the image given to ``predict``.

    ``boxes`` (N, 4) float32 xyxy; ``classes`` (N,) int; ``scores`` (N,) float32;
    ``names`` maps class ids to names; ``image_size`` is (width, height) of that image.
    """

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    names: dict[int, str] = field(default_factory=dict)
    image_size: tuple[int, int] = (0, 0)

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls, names: dict[int, str], image_size: tuple[int, int]) -> Detections:
        """No boxes."""
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.float32),
            names,
            image_size,
        )

    def select(self, keep: np.ndarray) -> Detections:
        """The detections where ``keep`` (a boolean mask or an index array) holds."""
        return Detections(
            self.boxes[keep], self.classes[keep], self.scores[keep], self.names, self.image_size
        )
