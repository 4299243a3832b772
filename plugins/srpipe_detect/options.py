"""The detect task's options: the click parameters of ``run detect`` / ``eval detect`` and
the values they arrive as in ``TaskContext.options``, read and checked in one place.

Apart from the task because both halves describe one thing, the option surface (names,
defaults per command, ranges), and neither needs the detector, the scoring or the drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import click

from srpipe.errors import SrpipeError
from srpipe.task import Command, TaskContext

#: confidence threshold for `run` (what a user wants drawn) and for `eval` (AP needs the
#: whole precision-recall curve, so ultralytics' own `val` keeps everything above 0.001)
RUN_CONF, EVAL_CONF = 0.25, 0.001


def click_options(command: Command) -> list[click.Parameter]:
    """``--detector --conf --iou --imgsz --classes --slice --trust-weights
    --detector-precision --overlap``."""

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
            ["--detector-precision", "detector_precision"],
            type=click.Choice(["auto", "fp32", "bf16"]),
            default="auto",
            show_default=True,
            help="The detector's arithmetic. auto: bf16 in `run` only where this CPU (or "
            "GPU) runs bf16 natively and this detector's bf16 boxes were measured to agree "
            "with fp32's (none so far: the bundled detector falls just short on upscaled "
            "frames), else fp32; fp32 in `eval`. bf16: about 2x faster detection, box "
            "decode kept fp32; where bf16 would be emulated it runs fp32 and says so.",
        ),
        click.Option(
            ["--overlap"],
            type=float,
            default=0.2,
            show_default=True,
            help="Overlap ratio between slices.",
        ),
    ]


@dataclass(frozen=True)
class DetectOptions:
    """The detect options of one command, checked; an absent option has its default.

    Defaults for absent options (a Python caller's ``task_options``) are the ones the
    task always had: ``conf`` 0.25, ``--slice`` 256 for the eval variant and off for run.
    """

    #: ``--detector`` as given (None: chosen by :func:`~srpipe_detect.detector.default_detector`)
    detector: str | None = None
    conf: float = RUN_CONF
    iou: float = 0.7
    imgsz: int | None = None
    #: ``--classes`` as names or ids (None: every class)
    classes: Sequence[str] | None = None
    #: run: ``--slice`` (0 = whole frame)
    slice_size: int = 0
    #: eval: ``--slice`` of the ``sliced`` variant (0 = no such variant)
    variant_slice: int = 256
    overlap: float = 0.2
    trust_weights: bool = False
    #: ``--detector-precision``: auto, fp32 or bf16 (:mod:`srpipe_detect.precision`)
    precision: str = "auto"

    @classmethod
    def from_context(cls, ctx: TaskContext) -> DetectOptions:
        """The values in ``ctx.options``, with a one-line error on a value out of range."""
        detector = ctx.option("detector")
        classes = ctx.option("classes")
        options = cls(
            detector=None if detector is None or str(detector) == "" else str(detector),
            conf=ctx.option("conf", RUN_CONF),
            iou=ctx.option("iou", 0.7),
            imgsz=ctx.option("imgsz"),
            classes=_parse_classes(classes) if isinstance(classes, str) else classes,
            slice_size=ctx.option("slice_size", 0),
            variant_slice=ctx.option("variant_slice", 256),
            overlap=ctx.option("overlap", 0.2),
            trust_weights=bool(ctx.option("trust_weights", False)),
            precision=str(ctx.option("detector_precision", "auto")),
        )
        options.check()
        return options

    def check(self) -> None:
        """Raise a one-line :class:`SrpipeError` naming the option whose value is out of range."""
        if not 0.0 <= self.conf <= 1.0:
            raise SrpipeError(f"--conf must be in [0, 1], got {self.conf}")
        if not 0.0 < self.iou <= 1.0:
            raise SrpipeError(f"--iou must be in (0, 1], got {self.iou}")
        if self.imgsz is not None and self.imgsz < 32:
            raise SrpipeError(f"--imgsz must be at least 32, got {self.imgsz}")
        for size in (self.slice_size, self.variant_slice):
            if size and size < 32:
                raise SrpipeError(f"--slice must be 0 (off) or at least 32 pixels, got {size}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise SrpipeError(
                f"--detector-precision must be auto, fp32 or bf16, got {self.precision}"
            )
        if not 0.0 <= self.overlap < 1.0:
            raise SrpipeError(f"--overlap must be in [0, 1), got {self.overlap}")


def _parse_classes(value: str) -> list[str] | None:
    if not value.strip():
        return None
    return [part.strip() for part in value.split(",") if part.strip()]
