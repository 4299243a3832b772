"""A gallery of known identities: HR embeddings by name, for identification.

Used twice: ``srpipe run faces --gallery DIR`` names the faces it finds, and the evaluation
scores rank-1 identification of (degraded, upscaled) probes against the HR gallery.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srpipe.errors import SrpipeError
from srpipe_faces.datasets import read_rgb
from srpipe_faces.pairs import identity_folders


@dataclass
class FaceGallery:
    """identity -> [(image key, embedding), ...] for one embedder."""

    embedder: str
    entries: dict[str, list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    #: images that gave no usable face, with the reason (reported, never silently skipped)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, identity: str, key: str, embedding: np.ndarray) -> None:
        """Add one HR embedding of ``identity`` (``key`` names its image)."""
        self.entries.setdefault(identity, []).append((key, np.asarray(embedding, np.float32)))

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def identify(self, embedding: np.ndarray, threshold: float) -> tuple[str, float, str]:
        """(identity or "unknown", distance to the nearest image, nearest identity)."""
        if not self.entries:
            return "unknown", float("inf"), ""
        best_name, best = "", float("inf")
        for name, items in self.entries.items():
            for _, vector in items:
                d = float(np.linalg.norm(vector - np.asarray(embedding, np.float32)))
                if d < best:
                    best_name, best = name, d
        return (best_name if best < threshold else "unknown"), best, best_name

    @classmethod
    def from_folder(cls, root: str | Path, detector, embedder) -> FaceGallery:
        """Build from ``root/<identity>/<image>``; the largest face of each image is used."""

        root = Path(root)
        people = identity_folders(root)
        if not people:
            raise SrpipeError(
                f"gallery {root} has no identity folders with images; "
                "lay it out as DIR/<name>/<image>.jpg"
            )
        gallery = cls(embedder.name)
        for identity, images in people.items():
            for path in images:
                image = read_rgb(path)
                faces = detector.detect(image)
                if not faces:
                    gallery.skipped.append((str(path), detector.last_reason or "no face"))
                    continue
                chip = embedder.align(image, faces[0]).chip
                gallery.add(identity, str(path), embedder.embed([chip])[0])
        if not gallery.entries:
            raise SrpipeError(
                f"no face found in any gallery image under {root}; use photos where the "
                "face is at least 20 px wide"
            )
        return gallery
