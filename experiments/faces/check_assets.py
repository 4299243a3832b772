"""Check ASSETS.md's dlib claim (same face HR vs x8 bicubic ~0.34, different faces ~0.74).

For every image of the offline faces set: detect and align on HR (native resolution), embed
HR and the x2/x4/x8 degraded-then-bicubic-upscaled chip; print the same-face distances and
the HR distances between different identities.
Run: .venv/bin/python experiments/faces/check_assets.py
"""

from __future__ import annotations

import itertools

import numpy as np
from srpipe_faces.datasets import read_rgb
from srpipe_faces.models import shared_detector, shared_embedder
from srpipe_faces.pairs import identity_folders
from srpipe_faces.synth import ensure_synth_faces

from srpipe.image.resize import degrade, imresize


def main() -> None:
    root = ensure_synth_faces() / "lfw"
    detector, embedder = shared_detector(20, "cpu"), shared_embedder("dlib", None, "cpu")
    rows, hr_by_identity = [], {}
    for identity, paths in identity_folders(root).items():
        for path in paths:
            image = read_rgb(path)
            face = detector.detect(image)[0]
            chip = embedder.align(image, face, multiple=8).chip
            variants = [chip] + [imresize(degrade(chip, s), s) for s in (2, 4, 8)]
            vectors = embedder.embed(variants)
            hr_by_identity.setdefault(identity, []).append(vectors[0])
            rows.append(
                (identity, path.name, face.width, *embedder.distance(vectors[0], vectors[1:]))
            )
    print("| identity | image | HR face px | x2 | x4 | x8 |")
    print("|---|---|---|---|---|---|")
    for identity, name, width, *d in rows:
        print(f"| {identity} | {name} | {width:.0f} | " + " | ".join(f"{v:.3f}" for v in d) + " |")
    same = np.array([r[3:] for r in rows])
    print(
        "\nmean same-face distance HR vs x2/x4/x8 bicubic: "
        + " / ".join(f"{v:.3f}" for v in same.mean(axis=0))
    )
    firsts = {k: v[0] for k, v in hr_by_identity.items()}
    different = [
        float(embedder.distance(firsts[a], firsts[b])) for a, b in itertools.combinations(firsts, 2)
    ]
    print(
        f"different identities (HR, first image each, {len(different)} pairs): "
        f"mean {np.mean(different):.3f}, min {np.min(different):.3f}, max {np.max(different):.3f}"
    )
    carphone = hr_by_identity.get("carphone_man", [])
    within = [float(embedder.distance(a, b)) for a, b in itertools.combinations(carphone, 2)]
    if within:
        print(
            f"carphone_man HR frame vs HR frame ({len(within)} pairs): mean {np.mean(within):.3f}, "
            f"max {np.max(within):.3f}"
        )


if __name__ == "__main__":
    main()
