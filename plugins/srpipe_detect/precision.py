"""The detector's precision: bf16 where it runs natively and was measured to find what fp32
finds, fp32 everywhere else.

Apart from the detector because it is a decision with a record behind it, as the SR models'
bf16 record is (:data:`srpipe.models.zoo.BF16_AGREEMENT`): which detectors were measured, the
floor they had to reach, and the context a forward runs under.

Why the box decode stays fp32: under bf16 autocast every tensor after a convolution is bf16,
and bf16 keeps 8 bits of mantissa, so ultralytics' decode (anchor + distance, times the
stride) would round an x near 1,000 px to steps of 4 px and one near 1,280 px to steps of 8:
measured, boxes moved by up to 80 px on a 1280x736 frame. Only the convolutions gain from
bf16; :func:`detector_precision` runs the head's decode (``Detect._inference``) in fp32 on the
bf16 features, which leaves confident boxes within about 0.1 px of fp32's.

What "exact enough" means for a detector: the SR rule (99.9% of pixels within one uint8 level)
has no meaning for boxes, so the measure is the detect task's own agreement metric, mAP50 of
the bf16 detector's boxes scored against the fp32 detector's boxes as truth, divided by the
same metric of fp32's boxes scored against themselves (ultralytics' 101-point AP tops out at
0.995, not 1). It is measured on the detector's validation images at their own size and EDSR
x4 upscaled (the size ``run`` detects at) by ``benchmarks/bench_run.py detector-exactness``
(benchmarks/results/detector_bf16_exactness.json);
tests/plugins/detect/test_detect_precision.py checks the record again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from srpipe.hashing import sha256_file
from srpipe.upscaling.hardware import PrecisionChoice, choose_precision
from srpipe_detect.metrics import BoxSet, detection_metrics, match_image

#: detector files ultralytics runs as a torch model (others: ONNX Runtime, TensorRT, ...)
TORCH_DETECTORS = (".pt", ".pth", ".yaml", ".yml")

#: the agreement (mAP50 against fp32's boxes over fp32's against its own, on every measured
#: size) a detector must reach in bf16 before ``--detector-precision auto`` runs it in bf16
BF16_AGREEMENT_FLOOR = 0.99

#: sha256 of a detector's weights file (a record is about those bytes, not a file name) ->
#: (name, {size: agreement, the ratio defined in the module's notes}) as measured by
#: ``benchmarks/bench_run.py detector-exactness`` (benchmarks/results/detector_bf16_exactness.json);
#: a detector not listed runs fp32 under ``auto``
DETECTOR_BF16_AGREEMENT: dict[str, tuple[str, dict[str, float]]] = {
    # the bundled detector: below the floor on upscaled frames (boxes near --conf 0.25 come and
    # go), so ``auto`` keeps it fp32; ``--detector-precision bf16`` is about 2x faster. For
    # scale: SR's own bf16 (accepted by its pixel rule) moves the fp32 detector's boxes on the
    # same frames about as much, 0.9876 by the same measure (the result file's context row)
    "5a70f84122290b7e6839feabf92c9b70ddad4577e857aa13d24acea9ab95b9bb": (
        "tiny_objects_yolov8s.pt",
        {"320": 0.999535, "1280": 0.986494},
    ),
}


def bf16_exact(path: str | Path) -> bool | None:
    """Whether the detector at ``path`` reached :data:`BF16_AGREEMENT_FLOOR` in bf16 on every
    measured size (None: never measured)."""
    if not Path(path).is_file():
        return None
    record = DETECTOR_BF16_AGREEMENT.get(sha256_file(path))
    if record is None:
        return None
    return min(record[1].values()) >= BF16_AGREEMENT_FLOOR


def choose_detector_precision(
    requested: str, device: str, path: str | Path, command: str
) -> PrecisionChoice:
    """The precision the detector runs at, and why.

    ``fp32`` always holds. ``bf16`` runs bf16 unless it would be emulated here (then fp32,
    with the measured slow-down) or the detector is not a torch model. ``auto`` is bf16 only in
    ``run``, where the hardware runs bf16 natively and this detector's bf16 agreement was
    measured above the floor; ``eval`` measures the detector at its reference precision,
    fp32, unless ``--detector-precision bf16`` is given.
    """
    if requested == "fp32":
        return PrecisionChoice("fp32")
    suffix = Path(path).suffix.lower()
    if suffix not in TORCH_DETECTORS:
        return PrecisionChoice(
            "fp32", f"{suffix or 'this'} detectors run through their own runtime in fp32"
        )
    if device.split(":")[0] not in ("cpu", "cuda"):
        return PrecisionChoice("fp32", f"the detector runs fp32 on {device}")
    if requested == "bf16":
        return choose_precision("bf16", device)
    if command != "run":
        return PrecisionChoice("fp32", "auto: eval measures the detector at fp32, its reference")
    exact = bf16_exact(path)
    if not exact:
        why = "not measured" if exact is None else "measured below the agreement floor"
        return PrecisionChoice("fp32", f"auto: this detector's bf16 boxes are {why} vs fp32")
    choice = choose_precision("auto", device, bf16_exact=True)
    reason = (choice.reason or "").replace("this model", "this detector")
    return PrecisionChoice(choice.precision, reason)


@contextmanager
def detector_precision(precision: str, device: Any) -> Iterator[None]:
    """Run the detector's forwards inside at ``precision``: bf16 autocast on the convolutions
    with the box decode in fp32 (see the module's notes); nothing changes for fp32."""
    if precision != "bf16":
        yield
        return
    import torch

    _decode_in_fp32()
    device_type = str(device).split(":")[0]
    device_type = "cuda" if device_type.isdigit() else device_type
    with torch.autocast(device_type, dtype=torch.bfloat16):
        yield


def _decode_in_fp32() -> None:
    """Make ultralytics' ``Detect`` decode its boxes in fp32 whatever autocast is on (once).

    Installed on the class, for good: ultralytics' predictor runs a copy of the loaded model,
    so the instance the task holds is not the one that decodes, and a patch undone after each
    call would race with a second thread's. In fp32 the wrapper changes nothing.
    """
    import torch
    from ultralytics.nn.modules.head import Detect

    if getattr(Detect._inference, "srpipe_fp32_decode", False):
        return
    decode = Detect._inference

    def decode_in_fp32(head: Any, x: Any) -> Any:
        # ultralytics 8.4 hands a dict of tensors, earlier releases a list
        first = next(iter(x.values())) if isinstance(x, dict) else x[0]
        with torch.autocast(first.device.type, enabled=False):
            return decode(head, _as_fp32(x))

    decode_in_fp32.srpipe_fp32_decode = True  # type: ignore[attr-defined]
    Detect._inference = decode_in_fp32  # type: ignore[method-assign]


def _as_fp32(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.float()
    if isinstance(value, dict):
        return {key: _as_fp32(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_as_fp32(v) for v in value)
    return value


def agreement(reference: Sequence[Any], candidate: Sequence[Any]) -> dict[str, float]:
    """The detect task's agreement metrics of ``candidate``'s detections scored against
    ``reference``'s as truth (both lists of :class:`~srpipe_detect.boxes.Detections`)."""
    matches = [
        match_image(BoxSet(c.boxes, c.classes, c.scores), BoxSet(r.boxes, r.classes))
        for r, c in zip(reference, candidate, strict=True)
    ]
    scores = detection_metrics(matches)
    return {
        "agree50": round(scores["mAP50"], 6),
        "agree50-95": round(scores["mAP50-95"], 6),
        "boxes": int(sum(len(r) for r in reference)),
    }
