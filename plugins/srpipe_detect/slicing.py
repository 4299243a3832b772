"""Sliced inference through the ``sahi`` package (Akyon et al., ICIP 2022), as SAHI runs it.

srpipe does not re-implement slicing: the ``sahi`` library (``pip install 'srpipe[sahi]'``)
cuts the slices, runs our already-loaded ultralytics YOLO model on each one through its own
``ultralytics`` detection-model wrapper (no download: the model object is handed over, not a
name), adds its standard full-frame pass and merges with its own postprocess. This module
only chooses the settings, converts the result to :class:`Detections` and says what it did.

Settings, following SAHI's docs (guides/sliced-inference.md, "Tuning Tips"):

* slice side: the docs pick tiles at about the detector's input resolution (512-640 for a
  YOLO trained at 640); the ``sliced`` variant uses ``--slice`` HR-equivalent pixels
  (default 256, i.e. 0.8 x the bundled detector's 320) so each slice reaches the detector
  at the size its objects have in HR;
* overlap ratio 0.2 in both directions (the docs' starting value; ``--overlap``);
* ``perform_standard_pred=True`` (the docs: keep it unless every object is small);
* merge: SAHI's default GREEDYNMM over IOS at 0.5, class-aware. Below SAHI's own
  ``LOW_MODEL_CONFIDENCE`` (0.1) SAHI switches to NMS over IOU (greedy merging of
  low-score boxes would inflate them); ``eval`` keeps boxes down to 0.001 for AP, so the
  variant runs with NMS / IOU / 0.5. We make that choice explicitly (and say so) instead
  of letting SAHI print a warning per image.

The ``sliced`` comparison variant of ``srpipe eval detect`` at scale ``s`` (see
:func:`variant_config`): it starts from the *LR* image (no SR, no upscaling of the frame),
SAHI cuts square slices of ``round(S / s)`` LR pixels (S = ``--slice``) with overlap 0.2
(the last row/column shifted back inside the image, so every slice is full-size), and
ultralytics' letterbox magnifies each slice to ``S`` pixels (bilinear, ``cv2.INTER_LINEAR``),
i.e. x``s``; SAHI adds the whole LR frame letterboxed to ``S`` pixels on its long side
(also bilinear), maps every box to LR coordinates and merges. Boxes are reported in LR
pixels (``to_hr = s``). Its big wins in the literature come from detectors that *shrink*
large frames; here slices are magnified by exactly the scale the SR baselines upscale by.

``srpipe run detect --slice S --overlap R [--imgsz N]`` uses the same path on the frame it
is given: slices of S pixels, each detected at ``--imgsz`` (default S, no magnification),
plus SAHI's full-frame pass at that same detector size.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from srpipe.environment import distribution_version
from srpipe.errors import SrpipeError
from srpipe.task import Variant
from srpipe_detect.boxes import Detections
from srpipe_detect.detector import LoadedDetector, keeping_torch_threads
from srpipe_detect.precision import detector_precision

#: SAHI's default merge (docs and ``get_sliced_prediction`` defaults)
MERGE = ("GREEDYNMM", "IOS", 0.5)
#: what SAHI itself switches to when the model's confidence threshold is below 0.1
LOW_CONFIDENCE_MERGE = ("NMS", "IOU", 0.5)
#: SAHI's ``LOW_MODEL_CONFIDENCE`` (sahi/predict.py); a test checks it against the package
LOW_CONFIDENCE = 0.1
#: the docs' starting overlap ratio
DEFAULT_OVERLAP = 0.2
INSTALL_HINT = "pip install 'srpipe[sahi]' (sahi==0.12.8)"


def sahi_available() -> bool:
    """Whether the optional ``sahi`` package is installed."""
    return importlib.util.find_spec("sahi") is not None


@dataclass(frozen=True)
class SahiConfig:
    """Everything handed to ``sahi.predict.get_sliced_prediction`` (sizes in input pixels)."""

    slice_px: int
    detector_size: int
    overlap: float
    conf: float
    perform_standard_pred: bool = True

    @property
    def merge(self) -> tuple[str, str, float]:
        """(postprocess type, match metric, match threshold), as SAHI would pick them."""
        return LOW_CONFIDENCE_MERGE if self.conf < LOW_CONFIDENCE else MERGE

    def describe(self, image: str = "input", scale: int | None = None) -> str:
        """One line saying exactly what is done to the image."""
        kind, metric, threshold = self.merge
        zoom = self.detector_size / self.slice_px
        how = f"x{zoom:g}" if zoom != 1 else "no magnification"
        full = (
            f" + the whole {image} frame at {self.detector_size} px (long side, bilinear)"
            if self.perform_standard_pred
            else ""
        )
        to = f", boxes in {image} px (x{scale} to HR)" if scale else ""
        return (
            f"sahi {_sahi_version()}: {self.slice_px}x{self.slice_px} slices of the {image} "
            f"image, overlap {self.overlap:g}, each resized to {self.detector_size} px by "
            f"ultralytics' letterbox (bilinear, {how}){full}; merged by SAHI {kind}/{metric} "
            f"{threshold:g}, class-aware{to}; an image no larger than a slice is one slice "
            f"resized to {self.detector_size} px (long side), with no separate full pass"
        )


def _detector_size(size: int) -> int:
    # YOLO strides need multiples of 32; ultralytics would round up the same way (with a warning)
    return int(np.ceil(size / 32) * 32)


def variant_config(scale: int, slice_hr: int, overlap: float, conf: float) -> SahiConfig:
    """Settings of the ``sliced`` variant: LR slices magnified by ``scale`` to ``slice_hr``."""
    lr_slice = max(8, round(slice_hr / scale))
    return SahiConfig(lr_slice, _detector_size(lr_slice * scale), overlap, conf)


def run_config(slice_px: int, overlap: float, conf: float, imgsz: int | None) -> SahiConfig:
    """Settings of ``srpipe run detect --slice``: detected at ``--imgsz`` (default the slice)."""
    return SahiConfig(slice_px, _detector_size(imgsz or slice_px), overlap, conf)


def _sahi_version() -> str:

    return distribution_version("sahi") or "?"


@contextlib.contextmanager
def _detector_settings(detector: LoadedDetector) -> Iterator[None]:
    """Give YOLO the detector's NMS IoU, class filter and box cap for the duration of a call.

    SAHI's wrapper passes only conf, device and imgsz to the model; ultralytics takes the
    rest from the model's ``overrides``, so set them there and put the old ones back.
    """
    overrides = getattr(detector.model, "overrides", None)
    if overrides is None:
        yield
        return
    wanted = {"iou": detector.iou, "max_det": 1000, "classes": detector.class_filter}
    saved = {k: overrides[k] for k in wanted if k in overrides}
    overrides.update(wanted)
    try:
        yield
    finally:
        for key in wanted:
            overrides.pop(key, None)
        overrides.update(saved)


def _sahi_device(device: Any) -> str:
    return f"cuda:{device}" if isinstance(device, int) else str(device)


def sahi_predict(
    detector: LoadedDetector, images: Sequence[np.ndarray], config: SahiConfig
) -> list[Detections]:
    """Run SAHI's sliced prediction with ``config`` on RGB uint8 images."""
    if not sahi_available():
        raise SrpipeError(f"sliced inference needs the sahi package: {INSTALL_HINT}")
    from sahi import AutoDetectionModel
    from sahi.predict import get_sliced_prediction

    # ultralytics' select_device() (run by SAHI's model set-up and by each prediction) sets
    # torch to cpu_count - 1 threads on CPU: the count is put back after all of it
    with keeping_torch_threads():
        model = AutoDetectionModel.from_pretrained(
            model_type="ultralytics",
            model=detector.model,  # already loaded (local .pt / .onnx / yaml): nothing to download
            confidence_threshold=config.conf,
            device=_sahi_device(detector.device),
            image_size=config.detector_size,
            category_mapping={str(k): v for k, v in detector.names.items()},
        )
        kind, metric, threshold = config.merge
        out = []
        precision = getattr(detector, "precision", "fp32")
        with _detector_settings(detector), detector_precision(precision, detector.device):
            for image in images:
                h, w = image.shape[:2]
                result = get_sliced_prediction(
                    np.ascontiguousarray(image),
                    model,
                    slice_height=config.slice_px,
                    slice_width=config.slice_px,
                    overlap_height_ratio=config.overlap,
                    overlap_width_ratio=config.overlap,
                    perform_standard_pred=config.perform_standard_pred,
                    postprocess_type=kind,
                    postprocess_match_metric=metric,
                    postprocess_match_threshold=threshold,
                    postprocess_class_agnostic=False,
                    force_postprocess_type=True,
                    verbose=0,
                )
                preds = result.object_prediction_list
                if not preds:
                    out.append(Detections.empty(detector.names, (w, h)))
                    continue
                out.append(
                    Detections(
                        np.array([p.bbox.to_xyxy() for p in preds], np.float32),
                        np.array([p.category.id for p in preds], np.int64),
                        np.array([p.score.value for p in preds], np.float32),
                        detector.names,
                        (w, h),
                    )
                )
        return out


def sliced_predict(
    detector: LoadedDetector,
    image: np.ndarray,
    slice_size: int,
    overlap: float,
    *,
    imgsz: int | None = None,
) -> Detections:
    """``srpipe run detect --slice``: SAHI on ``image`` (see :func:`run_config`)."""
    (det,) = sahi_predict(detector, [image], run_config(slice_size, overlap, detector.conf, imgsz))
    return det


def sliced_variant(task: Any, scale: int) -> Variant | None:
    """The ``sliced`` comparison variant, or None (other task, ``--slice 0``, no sahi)."""
    if getattr(task, "name", "") != "detect" or scale < 1:
        return None
    size = int(getattr(task, "variant_slice", 256) or 0)
    if size <= 0 or not sahi_available():
        return None
    # eval has configured the task (conf 0.001 for AP) before it asks for variants
    overlap = float(getattr(task, "overlap", DEFAULT_OVERLAP))
    config = variant_config(scale, size, overlap, float(getattr(task, "conf", 0.0)))

    def predict(task: LoadedDetector, images: Sequence[np.ndarray]) -> list[Detections]:
        return sahi_predict(task, images, config)

    return Variant(
        name="sliced",
        prepare=lambda hr, lr: lr,
        to_hr=float(scale),
        predict=predict,
        kind="task",
        meta={"method": config.describe("LR", scale)},
    )
