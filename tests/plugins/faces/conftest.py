"""Fixtures for the faces plugin: small real face photos that ship with installed packages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def _half(image: np.ndarray) -> np.ndarray:
    """Halve with area averaging: keeps MTCNN and dlib fast while faces stay > 40 px."""
    import cv2

    h, w = image.shape[:2]
    return cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut at 256x256 (one face, about 43 px wide)."""
    import skimage.data

    return _half(skimage.data.astronaut())


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    """matplotlib's grace_hopper.jpg at 256x300 (one face, about 90 px wide)."""
    import matplotlib.cbook

    from srpipe.image.io import read_image

    return _half(read_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))


@pytest.fixture(scope="session")
def detector():
    from srpipe_faces.models import shared_detector

    return shared_detector(20, "cpu")


@pytest.fixture(scope="session")
def dlib_embedder():
    from srpipe_faces.models import shared_embedder

    return shared_embedder("dlib", None, "cpu")


@pytest.fixture(scope="session")
def people(tmp_path_factory: pytest.TempPathFactory, astronaut, grace_hopper) -> Path:
    """DIR/<identity>/<image>: two astronaut images (one mirrored), one grace_hopper, and a
    'nobody' folder whose image holds no face."""
    from srpipe.image.io import write_image

    root = tmp_path_factory.mktemp("people")
    write_image(root / "astronaut" / "astronaut_0001.png", astronaut)
    write_image(root / "astronaut" / "astronaut_0002.png", np.ascontiguousarray(astronaut[:, ::-1]))
    write_image(root / "grace_hopper" / "grace_hopper_0001.png", grace_hopper)
    write_image(root / "nobody" / "nobody_0001.png", np.full((96, 96, 3), 128, np.uint8))
    return root
