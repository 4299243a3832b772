"""Entry point of the srpipe_faces plugin: the hooks srpipe calls.

Imports stay inside the hooks so that loading the plugin (which every ``srpipe`` command
does) costs nothing until faces are actually used.

Besides the task, its dataset readers and ``srpipe data synth faces``, the plugin observes
the harness: it collects each pair's distance per variant (``srpipe_item_scored``) and,
when the harness writes its JSON report, draws the ROC curves beside it
(``srpipe_report_written``): the Task contract returns numbers only, not pictures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from srpipe.hookspecs import hookimpl

#: variant -> item id -> (distance, same); filled while the harness scores faces items
_SCORES: dict[str, dict[str, tuple[float, bool]]] = {}


@hookimpl
def srpipe_register_tasks() -> list[type]:
    from srpipe_faces.task import FaceTask

    return [FaceTask]


@hookimpl
def srpipe_register_datasets() -> list[Any]:
    from srpipe_faces.datasets import IdentityFolderReader, LfwPairsReader

    return [LfwPairsReader(), IdentityFolderReader()]


@hookimpl
def srpipe_register_commands(parent: str) -> list[Any]:
    if parent != "data synth":
        return []
    from srpipe_faces.synth import synth_faces_command

    return [synth_faces_command]


@hookimpl
def srpipe_item_scored(
    task_name: str, variant: str, item_id: str, scores: dict[str, float]
) -> None:
    if task_name != "faces" or "distance" not in scores or "same" not in scores:
        return
    _SCORES.setdefault(variant, {})[item_id] = (float(scores["distance"]), bool(scores["same"]))


@hookimpl
def srpipe_report_written(path: Path, kind: str) -> None:
    if kind != "json" or not _SCORES:
        return
    try:  # an observer must never break the run it watches
        write_roc_png(Path(path).parent / "faces_roc.png")
    except Exception as exc:
        import warnings

        warnings.warn(f"faces: could not draw the ROC curves: {exc}", stacklevel=1)


def write_roc_png(target: Path) -> Path:
    """Draw the collected per-variant ROC curves (unscored pairs as failures) to ``target``."""
    import numpy as np

    from srpipe_faces import verification

    curves = {}
    for variant, rows in _SCORES.items():
        distances = np.array([d for d, _ in rows.values()])
        same = np.array([s for _, s in rows.values()])
        scored = np.isfinite(distances)
        curves[variant] = verification.roc_curve(
            verification.failure_distances(distances, same, scored), same
        )
    return verification.plot_roc(curves, target, title="faces: verification ROC by variant")
