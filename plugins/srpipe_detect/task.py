"""The ``detect`` task: object detection with any ultralytics YOLO checkpoint.

The task sees RGB uint8 images (HR, upscaled by some method, or LR) and returns
:class:`~srpipe_detect.boxes.Detections`. It runs the detector at the image's *native* size
by default (``--imgsz`` unset): letting YOLO shrink a x4-upscaled frame back to 640 px would
throw away exactly the pixels SR produced, so every variant of a comparison is detected at
the resolution it was given. Which detector runs without ``--detector``, and how it is
loaded and run: :mod:`srpipe_detect.detector`; the options: :mod:`srpipe_detect.options`.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.task import Command, Dataset, Item, Task, TaskContext
from srpipe.upscaling.upscaler import resolve_device
from srpipe_detect import coco
from srpipe_detect.boxes import Detections
from srpipe_detect.datasets import YoloReader
from srpipe_detect.detector import (
    BUNDLED_CLASSES,
    BUNDLED_WEIGHTS,
    class_names,
    default_detector,
    detect_batch,
    detector_size,
    device_for_ultralytics,
    load_detector,
    resolve_weights,
)
from srpipe_detect.metrics import BoxSet, detection_metrics, match_image
from srpipe_detect.offline import import_ultralytics
from srpipe_detect.options import RUN_CONF, DetectOptions, click_options
from srpipe_detect.precision import choose_detector_precision
from srpipe_detect.real import load_real_dataset
from srpipe_detect.slicing import sliced_predict
from srpipe_detect.synth import ensure_default_dataset
from srpipe_detect.training import DetectView

if TYPE_CHECKING:
    import click

log = logging.getLogger(__name__)

#: ``--data real``: the real-footage set (srpipe_detect.real)
REAL_DATA = "real"


def _default_set_roles(root: Path) -> str:
    """Which backgrounds the default set's splits sit on: the bundled detector trained on
    ``train`` and was selected on ``val``; what is measured here is ``test`` (registry roles)."""
    try:
        splits = json.loads((root / "manifest.json").read_text())["sources"]
    except (OSError, ValueError, KeyError):
        return ""
    return (
        f". Backgrounds: test (measured here) {', '.join(splits.get('test', []))}; the bundled "
        f"detector trained on {', '.join(splits.get('train', []))} and was selected on "
        f"{', '.join(splits.get('val', []))} (srpipe data sources)"
    )


class DetectTask(Task):
    """Detect objects with an ultralytics YOLO model and score mAP against boxes.

    Default detector: the one that knows the data's classes - the bundled YOLOv8s trained
    on srpipe's synthetic tiny-object set (4 classes that differ only in fine detail) for
    that set, the COCO YOLO11n of the ``coco`` extra (when installed) for real footage.
    Default eval data: the tiny-object set's test split, on backgrounds the detector never
    trained or was selected on (generated on first use, deterministic; roles from
    srpipe.data.sources). ``--data real``: HR frames of the packaged street clip and photos,
    scored as agreement with the COCO detector's HR detections (no human labels).
    """

    name: ClassVar[str] = "detect"
    summary: ClassVar[str] = (
        "Object detection with ultralytics YOLO: COCO or srpipe's tiny objects (mAP, AP_small)."
    )
    metrics: ClassVar[tuple[str, ...]] = ("mAP50", "mAP50-95", "AP_small", "precision", "recall")
    default_data: ClassVar[str | None] = (
        "synthetic tiny objects (srpipe data synth detect); --data real: packaged real "
        "footage scored as agreement with HR detections"
    )
    #: the metrics on ``--data real``, whose boxes are the detector's own HR detections
    AGREEMENT_METRICS: ClassVar[tuple[str, ...]] = (
        "agree50",
        "agree50-95",
        "agree_small",
        "precision_vs_HR",
        "recall_vs_HR",
    )

    def __init__(self) -> None:
        self.model: Any = None
        self.names: dict[int, str] = {}
        self.conf = RUN_CONF
        self.iou = 0.7
        self.imgsz: int | None = None
        self.class_filter: list[int] | None = None
        self.slice: int = 0
        self.variant_slice: int = 256
        self.overlap: float = 0.2
        self.device: Any = "cpu"
        #: the detector's arithmetic (:mod:`srpipe_detect.precision`), chosen when it loads
        self.precision = "fp32"
        self.precision_reason = "as asked"
        self._requested_precision = "auto"
        self._command: Command = "run"
        self._device_option = "cpu"
        self.detector_path = ""
        self._trust = False
        self._classes: Sequence[str] | None = None
        #: True on ``--data real``: metrics are agreement with HR detections (renamed)
        self.agreement = False
        self._match_cache: dict[tuple[int, str], Any] = {}

    # -- configuration -------------------------------------------------------------------
    @classmethod
    def options(cls, command: Command) -> list[click.Parameter]:
        """``--detector --conf --iou --imgsz --classes --slice --trust-weights
        --detector-precision --overlap``."""
        return click_options(command)

    def setup(self, ctx: TaskContext) -> None:
        """Read the options from ``ctx.options`` and load the detector (one-line errors).

        Without ``--detector`` the choice is :func:`~srpipe_detect.detector.default_detector`:
        made now in ``run`` (no data known: COCO when installed); in ``eval`` it waits for
        the data's class names (:meth:`use_dataset`, called on every rank with the loaded set) or
        the first prediction.
        """
        # Importing ultralytics under torchrun waits at a barrier of the whole group
        # (its settings are written by local rank 0 first), so every rank imports it here,
        # at the same step: the eval's index is read by rank 0 alone, too late for that.
        import_ultralytics()

        options = DetectOptions.from_context(ctx)
        self.conf, self.iou, self.imgsz = options.conf, options.iou, options.imgsz
        self.slice, self.variant_slice = options.slice_size, options.variant_slice
        self.overlap = options.overlap
        self.device = device_for_ultralytics(ctx.device)
        self._device_option = resolve_device(ctx.device)
        self._requested_precision, self._command = options.precision, ctx.command
        self._trust = options.trust_weights
        self._classes = options.classes
        self.model, self.detector_path, self.names, self.class_filter = None, "", {}, None
        if options.detector is not None:
            self._use(resolve_weights(options.detector))
        elif ctx.command != "eval":
            self._use(default_detector())

    def use_detector_for(self, dataset_classes: Iterable[str]) -> None:
        """Choose the default detector for data with these classes (no-op after a choice)."""
        if self.model is None:
            self._use(default_detector(dataset_classes))

    def _use(self, path: str) -> None:
        self.detector_path = path
        self.model = load_detector(path, trust=self._trust)
        self.names = class_names(self.model)
        self.class_filter = self._class_ids(self._classes) if self._classes else None
        choice = choose_detector_precision(
            self._requested_precision, self._device_option, path, self._command
        )
        self.precision, self.precision_reason = choice.precision, choice.why
        if self._requested_precision == "bf16" and self.precision != "bf16":
            log.warning("srpipe: --detector-precision bf16: %s", choice.why)

    def _class_ids(self, classes: Sequence[str]) -> list[int]:
        by_name = {v: k for k, v in self.names.items()}
        ids = []
        for c in classes:
            if str(c).isdigit() and int(c) in self.names:
                ids.append(int(c))
            elif c in by_name:
                ids.append(by_name[c])
            else:
                known = ", ".join(self.names.values())
                raise SrpipeError(f"--classes: unknown class {c!r}; the detector knows: {known}")
        return ids

    # -- prediction ----------------------------------------------------------------------
    def predict(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect on RGB uint8 images (sliced when ``--slice`` is set)."""
        if self.model is None:  # not set up, or eval on data whose classes are unknown
            self._use(default_detector())
        if self.slice:
            return [
                sliced_predict(self, img, self.slice, self.overlap, imgsz=self.imgsz)
                for img in images
            ]
        return detect_batch(self, images, self.imgsz)

    def rescale(self, prediction: Detections, factor: float) -> Detections:
        """Boxes multiplied by ``factor`` (e.g. 1/4 to go from an x4 upscale to the input)."""
        w, h = prediction.image_size
        return Detections(
            prediction.boxes * np.float32(factor),
            prediction.classes,
            prediction.scores,
            prediction.names,
            (round(w * factor), round(h * factor)),
        )

    # -- run outputs ---------------------------------------------------------------------
    def draw(self, image: np.ndarray, prediction: Detections) -> np.ndarray:
        """Boxes with class name and confidence, colour per class.

        With an evaluation threshold (``--conf`` below 0.05, kept low for AP) only boxes
        scoring at least 0.25 are drawn: a picture of every 0.001 box shows nothing.
        """
        import cv2

        if self.conf < 0.05:
            prediction = prediction.select(prediction.scores >= RUN_CONF)
        out = np.ascontiguousarray(image.copy())
        thick = max(1, round(max(out.shape[:2]) / 640))
        for (x1, y1, x2, y2), cls, score in zip(
            prediction.boxes, prediction.classes, prediction.scores
        ):
            colour = _class_colour(int(cls))
            p1, p2 = (round(float(x1)), round(float(y1))), (round(float(x2)), round(float(y2)))
            cv2.rectangle(out, p1, p2, colour, thick, cv2.LINE_AA)
            label = f"{prediction.names.get(int(cls), cls)} {score:.2f}"
            font_scale = 0.35 * thick
            (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
            ty = p1[1] - 2 if p1[1] - th - 2 >= 0 else p2[1] + th + 2
            cv2.rectangle(out, (p1[0], ty - th - 1), (p1[0] + tw, ty + 2), colour, -1)
            cv2.putText(
                out,
                label,
                (p1[0], ty),
                cv2.FONT_HERSHEY_SIMPLEX,
                font_scale,
                (255, 255, 255),
                1,
                cv2.LINE_AA,
            )
        return out

    def records(self, prediction: Detections) -> list[dict[str, Any]]:
        """One row per box: class id and name, confidence, x1 y1 x2 y2 (pixels)."""
        return [
            {
                "class_id": int(c),
                "class": prediction.names.get(int(c), str(int(c))),
                "conf": round(float(s), 4),
                "x1": round(float(b[0]), 2),
                "y1": round(float(b[1]), 2),
                "x2": round(float(b[2]), 2),
                "y2": round(float(b[3]), 2),
            }
            for b, c, s in zip(prediction.boxes, prediction.classes, prediction.scores)
        ]

    def describe(self, prediction: Detections) -> dict[str, Any]:
        """Per item in report.json: how many boxes, and those a run would draw (conf >= 0.25).

        Eval predicts at a near-zero threshold for mAP, so every box would bloat the report;
        each kept box is ``[class, conf, x1, y1, x2, y2]``.
        """
        keep = prediction.scores >= RUN_CONF
        return {
            "boxes": len(prediction),
            "confident": [
                [
                    prediction.names.get(int(c), str(int(c))),
                    round(float(s), 3),
                    *(round(float(v), 1) for v in b),
                ]
                for b, c, s in zip(
                    prediction.boxes[keep], prediction.classes[keep], prediction.scores[keep]
                )
            ],
        }

    def summarize(self, predictions: Sequence[Detections]) -> dict[str, Any]:
        """Images, total detections and counts per class; with the bundled synthetic
        detector, also which classes it knows (it finds nothing else in real footage)."""
        counts: Counter[str] = Counter()
        for p in predictions:
            counts.update(p.names.get(int(c), str(int(c))) for c in p.classes)
        summary: dict[str, Any] = {
            "images": len(predictions),
            "detections": int(sum(counts.values())),
            "per_class": dict(sorted(counts.items())),
            "detector": Path(self.detector_path).name,
            "detector_precision": f"{self.precision} ({self.precision_reason})",
        }
        if Path(self.detector_path) == BUNDLED_WEIGHTS:
            summary["detector_knows"] = (
                f"only srpipe's 4 synthetic tiny-object classes ({', '.join(BUNDLED_CLASSES)}); "
                f"for people, cars and the other COCO classes pip install 'srpipe[coco]' "
                f"({coco.PACKAGE}) or pass --detector"
            )
        if predictions and not self.slice:
            summary["detector_size"] = self._size_note(*predictions[-1].image_size)
        return summary

    def _size_note(self, width: int, height: int) -> str:
        """The size the detector ran at, and what ``--imgsz`` would save (its cost grows with
        the letterboxed area, so detecting at the upscaled size is paid for tiny objects)."""
        side = detector_size(width, height, self.imgsz)
        if self.imgsz or side <= 640:
            return f"{side} px (long side)"
        return (
            f"{side} px (the upscaled frame's long side, so tiny objects stay visible); "
            f"--imgsz 640 would cost about {(side / 640) ** 2:.1f}x less and lose small objects"
        )

    # -- evaluation ----------------------------------------------------------------------
    def load_dataset(self, data: str | None, **_: Any) -> Dataset:
        """The sets that are not a path: None, the synthetic tiny-object test set; ``real``,
        the real-footage set (agreement with HR detections).

        A YOLO data.yaml (or its folder) or a COCO json never reaches here: the core reads
        it with the readers this plugin registers (:mod:`srpipe_detect.datasets`).
        """
        if data is None:
            root = ensure_default_dataset()
            dataset = YoloReader().load(root, split="test")
            dataset.description += _default_set_roles(root)
        elif data == REAL_DATA and not Path(data).exists():
            dataset = load_real_dataset(device=self.device)
        else:
            missing = "" if Path(data).exists() else ": no such file or folder"
            raise SrpipeError(
                f"cannot read {data} as a detection dataset{missing}; give a YOLO data.yaml (or "
                f"its folder), a COCO annotations .json, or '{REAL_DATA}' for the real-footage set"
            )
        self.use_dataset(dataset)
        return dataset

    def use_dataset(self, dataset: Dataset) -> None:
        """Agreement metrics on the real-footage set; the default detector for the data's
        classes (every rank calls this; rank 0's reader may have already)."""
        if dataset.meta.get("format") == "pseudo-labels":
            self.agreement = True
            self.metrics = self.AGREEMENT_METRICS
        self.use_detector_for((dataset.meta.get("names") or {}).values())

    # -- task-driven SR training ---------------------------------------------------------
    def differentiable(self, device: Any) -> Any:
        """The YOLO detector with gradients: its loss, neck features and checkpoint writer."""
        if self.detector_path and not str(self.detector_path).endswith((".pt", ".yaml", ".yml")):
            raise SrpipeError(
                f"{Path(self.detector_path).name} is not a PyTorch detector, so it cannot be "
                "differentiated; pass task.options.detector=PATH to a YOLO .pt"
            )
        return DetectView(self, device)

    def _truth(self, item: Item, dataset_names: dict[int, str] | None) -> Any:

        target = item.target or {}
        boxes = np.asarray(target.get("boxes", np.zeros((0, 4))), np.float32).reshape(-1, 4)
        classes = np.asarray(target.get("classes", np.zeros(0)), np.int64)
        if self.class_filter is not None:
            # --classes restricts the evaluation too: other classes' boxes are not misses
            wanted = {self.names[c] for c in self.class_filter}
            names = dataset_names or self.names
            keep = np.array([names.get(int(c)) in wanted for c in classes], bool)
            boxes, classes = boxes[keep], classes[keep]
        return BoxSet(boxes, classes)

    def _to_dataset_classes(self, pred: Detections, names: dict[int, str] | None) -> Any:
        """Predictions with class ids translated to the dataset's ids (by class name)."""

        if not names or names == pred.names or not pred.names:
            return BoxSet(pred.boxes, pred.classes, pred.scores)
        by_name = {v: k for k, v in names.items()}
        missing = [n for n in names.values() if n not in pred.names.values()]
        if len(missing) == len(names):
            raise SrpipeError(
                f"the detector's classes ({', '.join(list(pred.names.values())[:6])}...) share "
                f"no name with the dataset's ({', '.join(list(names.values())[:6])}...); "
                "pass --detector trained on this dataset's classes"
            )
        mapped = np.array([by_name.get(pred.names.get(int(c), ""), -1) for c in pred.classes])
        keep = mapped >= 0 if len(mapped) else np.zeros(0, bool)
        return BoxSet(pred.boxes[keep], mapped[keep].astype(np.int64), pred.scores[keep])

    def _match(self, prediction: Detections, item: Item) -> Any:

        # bootstrap resamples pass the same objects many times: match each pair once.
        # The cache holds the (small) prediction so its id stays unique, but not the item,
        # whose HR image would otherwise be kept alive.
        key = (id(prediction), item.id)
        hit = self._match_cache.get(key)
        if hit is not None and hit[0] is prediction:
            return hit[1]
        names = (item.meta or {}).get("names")
        result = match_image(self._to_dataset_classes(prediction, names), self._truth(item, names))
        self._match_cache[key] = (prediction, result)
        return result

    def evaluate(
        self, predictions: Sequence[Detections], items: Sequence[Item]
    ) -> dict[str, float]:
        """Dataset-level mAP50, mAP50-95, AP_small, precision, recall (HR coordinates)."""

        if len(predictions) != len(items):
            raise ValueError(f"{len(predictions)} predictions for {len(items)} items")
        values = detection_metrics([self._match(p, it) for p, it in zip(predictions, items)])
        return self._named(values)

    def _named(self, values: dict[str, float]) -> dict[str, float]:
        """On ``--data real`` the boxes are HR detections, not ground truth: say so."""
        if not self.agreement:
            return values
        renamed = dict(zip(type(self).metrics, self.AGREEMENT_METRICS))
        renamed.update({"AP50": "agree50", "recall@0.25": "recall_vs_HR@0.25"})
        renamed["precision@0.25"] = "precision_vs_HR@0.25"
        return {renamed.get(k, k): v for k, v in values.items()}

    def item_scores(self, prediction: Detections, item: Item) -> dict[str, float]:
        """Per image: AP50 (over its classes) and recall/precision of boxes with conf >= 0.25."""

        m = self._match(prediction, item)
        n_truth = len(m.target_cls)
        confident = m.conf >= RUN_CONF
        tp50 = int(m.tp[confident, 0].sum()) if len(m.tp) else 0
        n_conf = int(confident.sum())
        scores = {
            "AP50": detection_metrics([m])["mAP50"] if n_truth else float("nan"),
            "recall@0.25": tp50 / n_truth if n_truth else float("nan"),
            "precision@0.25": tp50 / n_conf if n_conf else float("nan"),
        }
        return self._named(scores)


def _class_colour(cls: int) -> tuple[int, int, int]:
    palette = [
        (230, 25, 75),
        (60, 180, 75),
        (255, 225, 25),
        (0, 130, 200),
        (245, 130, 48),
        (145, 30, 180),
        (70, 240, 240),
        (240, 50, 230),
        (210, 245, 60),
        (0, 128, 128),
    ]
    return palette[cls % len(palette)]
