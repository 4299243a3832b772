"""The ``action`` task: does SR help a video action classifier, and does its flicker hurt it?

``srpipe eval action --data DATA --classifier r2plus1d_18 --weights r2p1d.pth`` reads a
UCF101/HMDB51 folder, a Kinetics-style CSV or a folder of unlabeled clips
(:mod:`srpipe_action.datasets`). Every frame of every window is an item: the harness degrades
it, upscales it through the engine (cache, tiling, precision) and hands it to :meth:`predict`,
which only resizes and crops it the classifier's way. :meth:`ActionTask.item_scores` sees the
frames of a window in order, classifies the window on its last frame and scores it; it also
measures each frame's flicker against the previous one along the HR video's flow (the video
task's measure, :func:`srpipe_video.temporal.flicker_error`), so a report shows whether a PSNR
gain and an action loss go together.

Metrics: with labels, video and clip top-1/top-5 accuracy and mean class accuracy (video
level), then agreement with the HR predictions; without labels only **top1_agreement**,
**top5_overlap** (:mod:`srpipe_action.metrics`) and flicker. Clusters are the data's
independent units (UCF101 groups, YouTube videos).

``srpipe run action clip.mp4`` slides a window over the (upscaled) frames and writes, on the
frame that completes each window, its top-k labels and scores; the current label is drawn on
the output video.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import click
import numpy as np
from srpipe_video.temporal import FramePairFlow, estimate_flow, flicker_error, temporal_residual

from srpipe.errors import SrpipeError, UsageError
from srpipe.task import Command, Dataset, Item, Task, TaskContext
from srpipe_action import metrics as am
from srpipe_action.camera_motion import CAMERA_MOTIONS, CLIP_FRAMES, split_dataset
from srpipe_action.classifiers import TORCHVISION_CLASSIFIERS, load_classifier, read_labels
from srpipe_action.datasets import (
    ClassFolderReader,
    KineticsCsvReader,
    UnlabeledClipsReader,
    VideoEntry,
    frame_items,
    limit_entries,
)
from srpipe_action.motion_classifier import NAME as MOTION_CLASSIFIER
from srpipe_action.sampling import SlidingWindows, WindowResult, frame_step

#: metrics of a labeled set, headline first
LABELED_METRICS = (
    "video_top1",
    "video_top5",
    "clip_top1",
    "clip_top5",
    "mean_class_accuracy",
    "top1_agreement",
    "top5_overlap",
    "flicker",
)
#: an unlabeled set can only say how far a variant keeps the HR decision
UNLABELED_METRICS = ("top1_agreement", "top5_overlap", "flicker")
#: the bundled classifier of the packaged camera-motion set (no Kinetics weights offline)
DEFAULT_CLASSIFIER = MOTION_CLASSIFIER
#: HR flows kept for the next variant (bytes); beyond it they are recomputed
_FLOW_CACHE_BYTES = 256 * 1024 * 1024


@dataclass
class FramePrediction:
    """eval: one frame as the classifier takes it; once scored, what it scored.

    :meth:`ActionTask.item_scores` drops the frames after use (the harness keeps every
    prediction until the variant is summed up) and keeps the window's probabilities on the
    window's last frame, with the HR prediction it is compared to.
    """

    clip_frame: np.ndarray | None
    image: np.ndarray | None = None  # the full output frame, for flicker
    scores: dict[str, float] | None = None
    flicker: float = math.nan
    probabilities: np.ndarray | None = None
    reference: np.ndarray | None = None


@dataclass
class RunFrame:
    """run: the window this frame completed (if any) and the latest window (drawn)."""

    window: WindowResult | None
    latest: WindowResult | None


@dataclass
class _Window:
    """The prepared frames of the window being scored (variant output and HR)."""

    key: tuple[str, int]
    frames: list[np.ndarray] = field(default_factory=list)
    hr_frames: list[np.ndarray] = field(default_factory=list)


class ActionTask(Task):
    """Classify actions in videos; in eval, accuracy (or agreement with HR) and flicker.

    run: sliding-window top-k labels with time stamps, the label drawn on the output video.
    eval: windows of each video at the classifier's clip length and frame rate, per frame
    through SR; clip/video top-k and mean class accuracy (labeled data) or agreement with the
    HR predictions (unlabeled data), and each variant's flicker. Give the classifier's
    weights with --weights FILE (a state dict).
    """

    name: ClassVar[str] = "action"
    summary: ClassVar[str] = (
        "Video action recognition (torchvision video models; offline: a camera-motion proxy): "
        "accuracy or agreement with HR, and flicker"
    )
    metrics: ClassVar[tuple[str, ...]] = LABELED_METRICS
    lower_is_better: ClassVar[frozenset[str]] = frozenset({"flicker"})
    #: a window is classified from its frames in order, and flicker needs the frame before
    sequential_groups: ClassVar[bool] = True
    #: windows are counted from the first frame, so a video runs on one rank
    run_context_frames = None

    # -- configuration ---------------------------------------------------------------------
    @classmethod
    def options(cls, command: Command) -> list[click.Parameter]:
        """Both: --classifier --weights --labels; run: --top-k --window-stride --input-fps;
        eval: --clips-per-video --split --flicker/--no-flicker."""
        common = [
            click.Option(
                ["--classifier"],
                default=DEFAULT_CLASSIFIER,
                show_default=True,
                help=f"Video classifier: {', '.join(TORCHVISION_CLASSIFIERS)}, or one a plugin "
                "adds (action_register_classifiers).",
            ),
            click.Option(
                ["--weights"],
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="The classifier's state dict (torch.save(model.state_dict())); loaded "
                "with weights_only=True. Default: the bundled weights of camera-motion; "
                "torchvision's Kinetics-400 weights for its models (online only).",
            ),
            click.Option(
                ["--labels"],
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Class names of the weights' outputs, one a line (default: Kinetics-400 "
                "for 400 outputs, else the data's classes).",
            ),
        ]
        if command == "run":
            return [
                *common,
                click.Option(["--top-k"], type=int, default=5, show_default=True,
                             help="Labels recorded per window."),
                click.Option(["--window-stride"], type=int, default=0,
                             help="Sampled frames between two windows (0: half a clip)."),
                click.Option(["--input-fps"], type=float, default=30.0, show_default=True,
                             help="Frame rate of the input, to sample the classifier's own."),
            ]  # fmt: skip
        return [
            *common,
            click.Option(["--clips-per-video"], type=int, default=2, show_default=True,
                         help="Windows spread evenly over each video."),
            click.Option(["--split"], type=click.IntRange(1, 3), default=1, show_default=True,
                         help="Official UCF101/HMDB51 split whose test clips are read."),
            click.Option(["--flicker/--no-flicker"], default=True, show_default=True,
                         help="Measure each variant's flicker along the HR video's flow."),
        ]  # fmt: skip

    def setup(self, ctx: TaskContext) -> None:
        """Load the classifier; remember the options of the command served."""
        self.command = ctx.command
        self.limit = ctx.limit
        self.split = int(ctx.option("split", 1))
        self.clips_per_video = int(ctx.option("clips_per_video", 2))
        self.measure_flicker = bool(ctx.option("flicker", True))
        self.top = int(ctx.option("top_k", 5))
        self.input_fps = float(ctx.option("input_fps", 30.0))
        if self.clips_per_video < 1 or self.top < 1 or self.input_fps <= 0:
            raise UsageError("--clips-per-video, --top-k and --input-fps must be positive")
        labels = ctx.option("labels")
        self.classifier = load_classifier(
            str(ctx.option("classifier", DEFAULT_CLASSIFIER)),
            ctx.option("weights"),
            ctx.device,
            read_labels(labels) if labels is not None else None,
        )
        self._label_index = {_normal(n): i for i, n in enumerate(self.classifier.categories)}
        self._window: _Window | None = None
        self._references: dict[tuple[str, int, tuple[int, ...]], np.ndarray] = {}
        self._previous: tuple[str, np.ndarray, np.ndarray] | None = None
        self._flows: dict[tuple[str, str, tuple[int, ...]], tuple[FramePairFlow, np.ndarray]] = {}
        self._flow_bytes = 0
        clip = self.classifier.clip_length
        stride = int(ctx.option("window_stride", 0)) or max(1, clip // 2)
        self.step = frame_step(self.input_fps, self.classifier.frame_rate)
        self._sliding = SlidingWindows(
            clip, self.step, stride, self.classifier.prepare_frame, self.classifier.classify
        )
        self._latest: WindowResult | None = None

    # -- data --------------------------------------------------------------------------------
    def load_dataset(self, data: str | None, **options: Any) -> Dataset:
        """``--data`` when no registered reader took it (they cover every layout)."""
        if data is None:
            return self.packaged_dataset()
        path = Path(data)
        for reader in (ClassFolderReader(), KineticsCsvReader(), UnlabeledClipsReader()):
            if path.exists() and reader.can_read(path):
                return reader.read(path, self)
        raise SrpipeError(
            f"cannot read {data} as action data; give a Class/clip.avi folder, a CSV with "
            "label,youtube_id,time_start,time_end (or label,path) columns, or a folder of clips"
        )

    def use_dataset(self, dataset: Dataset) -> None:
        """The metrics of the set (labeled or not) and the classifier's class names on every
        rank, not only the one that read the set: generic ``class_*`` weights are named after
        the data's classes (carried in the index's meta), or the other ranks could not score
        a labeled item."""
        labeled = bool(dataset.meta.get("labeled"))
        self.metrics = LABELED_METRICS if labeled else UNLABELED_METRICS
        if labeled and dataset.meta.get("class_names"):
            self._adopt_classes(list(dataset.meta["class_names"]), dataset.name)

    def packaged_dataset(self) -> Dataset:
        """The camera-motion set's test split (:mod:`srpipe_action.camera_motion`).

        Its labels are camera motions, so only a classifier that predicts them (the bundled
        ``camera-motion``) can be scored on it. ``--limit`` keeps whole clips.
        """
        clips = None
        if self.limit is not None:
            clips = self.limit // CLIP_FRAMES
            if clips < 1:
                raise UsageError(f"--limit {self.limit} is less than one clip; use --limit "
                                 f"{CLIP_FRAMES} or more")  # fmt: skip
        dataset = split_dataset(max_clips=clips)
        self._adopt_classes(list(CAMERA_MOTIONS), dataset.name)
        self.metrics = LABELED_METRICS
        dataset.meta.update(
            classifier=self.classifier.spec.name,
            clip_length=CLIP_FRAMES,
            clips_per_video=1,
            videos=dataset.meta["clips"],
            labeled=True,
            classes=len(CAMERA_MOTIONS),
            class_names=list(CAMERA_MOTIONS),
        )
        return dataset

    def dataset_of(
        self, entries: list[VideoEntry], name: str, what: str, classes: list[str]
    ) -> Dataset:
        """The frames of ``entries`` as items; the metrics follow whether they are labeled."""
        clip, rate = self.classifier.clip_length, self.classifier.frame_rate
        if self.limit is not None:
            # --limit counts items (frames); it keeps whole videos, never part of a window
            videos = self.limit // (self.clips_per_video * clip)
            if videos < 1:
                raise UsageError(
                    f"--limit {self.limit} is less than one video ({self.clips_per_video} "
                    f"window(s) of {clip} frames); use --limit {self.clips_per_video * clip} "
                    "or more"
                )
            entries = limit_entries(entries, videos)
        labeled = [e for e in entries if e.label is not None]
        if labeled and len(labeled) != len(entries):
            raise SrpipeError(f"{name}: some videos have labels and some not; label them all")
        if labeled:
            self._adopt_classes(classes, name)
        # an instance attribute: the harness reads the metrics of the set it was given
        self.metrics = LABELED_METRICS if labeled else UNLABELED_METRICS
        items = frame_items(entries, clip, rate, self.clips_per_video)
        if not items:
            raise SrpipeError(f"no frames could be read from {name}; check --data")
        clusters = len({item.group for item in items})
        description = (
            f"{len(entries)} video(s) of {name} ({what}), {clusters} independent cluster(s); "
            f"{self.clips_per_video} window(s) of {clip} frames at {rate:g} fps per video for "
            f"{self.classifier.spec.name}"
        )
        if not labeled:
            description += (
                "; unlabeled: scored by agreement with the classifier's HR predictions, "
                "which is not accuracy"
            )
        return Dataset(
            name=name,
            items=items,
            description=description,
            meta={
                "classifier": self.classifier.spec.name,
                "clip_length": clip,
                "frame_rate": rate,
                "clips_per_video": self.clips_per_video,
                "videos": len(entries),
                "labeled": bool(labeled),
                "classes": len(classes),
                # every rank names generic class_* outputs from it (use_dataset)
                "class_names": list(classes) if labeled else [],
            },
        )

    def _adopt_classes(self, classes: list[str], name: str) -> None:
        """Name generic outputs after the data's classes; check every label is predictable."""
        categories = self.classifier.categories
        if classes and all(c.startswith("class_") for c in categories):
            if len(classes) != len(categories):
                raise SrpipeError(
                    f"{name} has {len(classes)} classes but the weights predict "
                    f"{len(categories)}; pass --labels FILE with the weights' class names"
                )
            self.classifier.categories = tuple(classes)
            self._label_index = {_normal(n): i for i, n in enumerate(classes)}
        unknown = sorted({c for c in classes if _normal(c) not in self._label_index})
        if unknown:
            raise SrpipeError(
                f"the classifier's {len(categories)} classes do not include {len(unknown)} of "
                f"{name}'s ({', '.join(unknown[:3])}...); pass weights trained on these "
                "classes, with --labels FILE if their order is not the data's"
            )

    # -- prediction -------------------------------------------------------------------------
    def predict(self, images: Sequence[np.ndarray]) -> list[Any]:
        """eval: each frame prepared the classifier's way; run: the sliding windows."""
        if self.command == "run":
            out = []
            for image in images:
                window = self._sliding.push(image)
                self._latest = window or self._latest
                out.append(RunFrame(window, self._latest))
            return out
        keep = self.measure_flicker
        return [
            FramePrediction(self.classifier.prepare_frame(image), image if keep else None)
            for image in images
        ]

    def rescale(self, prediction: Any, factor: float) -> Any:
        """Labels have no coordinates: the lr variant is the classifier on LR frames."""
        return prediction

    # -- eval scoring ------------------------------------------------------------------------
    def item_scores(self, prediction: FramePrediction, item: Item) -> dict[str, float]:
        """Flicker of this frame; on a window's last frame, its classification scores.

        Frames arrive in order (``sequential_groups``); a prediction scored before (the HR
        prediction reused at another scale) keeps its scores.
        """
        if prediction.scores is not None:
            return dict(prediction.scores)
        meta = item.meta
        scores: dict[str, float] = {}
        if self.measure_flicker:
            prediction.flicker = self._flicker(prediction.image, item)
            scores["flicker"] = prediction.flicker
        key = (str(meta["video"]), int(meta["window"]))
        if meta["frame"] == 0 or self._window is None or self._window.key != key:
            self._window = _Window(key)
        window = self._window
        reference_key = (*key, item.image.shape)
        if prediction.clip_frame is not None:
            window.frames.append(prediction.clip_frame)
        if reference_key not in self._references:
            window.hr_frames.append(self.classifier.prepare_frame(item.image))
        if meta["frame"] == meta["frames"] - 1 and len(window.frames) == meta["frames"]:
            if reference_key not in self._references:
                self._references[reference_key] = self.classifier.classify([window.hr_frames])[0]
            prediction.probabilities = self.classifier.classify([window.frames])[0]
            prediction.reference = self._references[reference_key]
            scores.update(self._window_scores(prediction, item.target))
            self._window = None
        prediction.clip_frame = prediction.image = None  # the harness keeps predictions
        prediction.scores = scores
        return dict(scores)

    def _window_scores(self, prediction: FramePrediction, label: str | None) -> dict[str, float]:
        probs, reference = prediction.probabilities, prediction.reference
        assert probs is not None and reference is not None
        scores = {
            "top1_agreement": am.top1_agreement(probs, reference),
            "top5_overlap": am.top5_overlap(probs, reference),
        }
        if label is not None:
            index = self._label_index[_normal(label)]
            scores["clip_top1"] = am.hit(probs, index, 1)
            scores["clip_top5"] = am.hit(probs, index, 5)
        return scores

    def _flicker(self, output: np.ndarray | None, item: Item) -> float:
        """Flicker against the previous frame of the window, along the HR video's flow."""
        hr = item.image
        previous = self._previous
        self._previous = (item.id, output, hr) if output is not None else None
        if (
            output is None
            or previous is None
            or item.meta.get("previous_id") != previous[0]
            or previous[1].shape != output.shape
            or output.shape != hr.shape
        ):
            return math.nan
        key = (previous[0], item.id, hr.shape)
        cached = self._flows.get(key)
        if cached is None:
            flow = estimate_flow(previous[2], hr)
            cached = (flow, temporal_residual(previous[2], hr, flow))
            size = flow.backward.nbytes + flow.valid.nbytes + cached[1].nbytes
            if self._flow_bytes + size <= _FLOW_CACHE_BYTES:
                self._flows[key] = cached
                self._flow_bytes += size
        return float(flicker_error(previous[1], output, cached[1], cached[0]))

    def evaluate(self, predictions: Sequence[Any], items: Sequence[Item]) -> dict[str, float]:
        """Clip and video accuracy, mean class accuracy, agreement and flicker. Pure."""
        windows = [
            (item, pred)
            for pred, item in zip(predictions, items)
            if pred.probabilities is not None and pred.reference is not None
        ]
        flickers = [p.flicker for p in predictions if not math.isnan(p.flicker)]
        values = {m: math.nan for m in LABELED_METRICS}
        values["flicker"] = float(np.mean(flickers)) if flickers else math.nan
        if not windows:
            return values
        probs = [p.probabilities for _, p in windows]
        values["top1_agreement"] = _mean(am.top1_agreement(p.probabilities, p.reference)
                                         for _, p in windows)  # fmt: skip
        values["top5_overlap"] = _mean(am.top5_overlap(p.probabilities, p.reference)
                                       for _, p in windows)  # fmt: skip
        if windows[0][0].target is None:
            return values
        labels = [self._label_index[_normal(item.target)] for item, _ in windows]
        values["clip_top1"] = _mean(am.hit(p, y, 1) for p, y in zip(probs, labels))
        values["clip_top5"] = _mean(am.hit(p, y, 5) for p, y in zip(probs, labels))
        videos = am.video_probabilities(
            [str(item.meta["video"]) for item, _ in windows],
            [int(item.meta["window"]) for item, _ in windows],
            probs,
        )
        video_label = {str(item.meta["video"]): y for (item, _), y in zip(windows, labels)}
        truth = [video_label[video] for video, _ in videos]
        values["video_top1"] = _mean(am.hit(p, y, 1) for (_, p), y in zip(videos, truth))
        values["video_top5"] = _mean(am.hit(p, y, 5) for (_, p), y in zip(videos, truth))
        values["mean_class_accuracy"] = am.mean_class_accuracy(
            truth, [am.top_k(p, 1)[0] for _, p in videos]
        )
        return values

    def not_measurable(self, items: Sequence[Item]) -> dict[str, str]:
        """Top-5 says nothing when the classifier has five classes or fewer."""
        classes = len(self.classifier.categories)
        if classes > 5:
            return {}
        why = f"the classifier has {classes} classes: any top-5 holds every class"
        return {m: why for m in ("video_top5", "clip_top5", "top5_overlap") if m in self.metrics}

    # -- outputs -----------------------------------------------------------------------------
    def describe(self, prediction: Any) -> Any:
        """eval: a window's top-5 labels and scores on its last frame (else nothing)."""
        if isinstance(prediction, FramePrediction):
            if prediction.probabilities is None:
                return None
            return self._top(prediction.probabilities, 5)
        return self.records(prediction) or None

    def records(self, prediction: Any) -> list[dict[str, Any]]:
        """run: the top-k of the window this frame completes (time: the runner's ``time_s``)."""
        if not isinstance(prediction, RunFrame) or prediction.window is None:
            return []
        window = prediction.window
        frames = window.last_frame - window.first_frame
        return [
            {
                "window": window.index,
                "window_frames_back": frames,
                "window_seconds": round(frames / self.input_fps, 3),
                "rank": rank,
                "label": label,
                "score": score,
            }
            for rank, (label, score) in enumerate(self._top(window.probabilities, self.top), 1)
        ]

    def draw(self, image: np.ndarray, prediction: Any) -> np.ndarray:
        """The latest window's top label and score, written on the frame."""
        if not isinstance(prediction, RunFrame) or prediction.latest is None:
            return image
        import cv2

        label, score = self._top(prediction.latest.probabilities, 1)[0]
        out = np.ascontiguousarray(image.copy())
        text = f"{label} {score:.2f}"
        size = max(0.4, min(out.shape[:2]) / 400)
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 1)
        cv2.rectangle(out, (0, 0), (w + 8, h + base + 8), (0, 0, 0), -1)
        cv2.putText(out, text, (4, h + 4), cv2.FONT_HERSHEY_SIMPLEX, size, (255, 255, 255), 1,
                    cv2.LINE_AA)  # fmt: skip
        return out

    def summarize(self, predictions: Sequence[Any]) -> dict[str, Any]:
        """run: windows, the classifier's clip, and the top labels over the whole input."""
        windows = [p.window for p in predictions if isinstance(p, RunFrame) and p.window]
        summary: dict[str, Any] = {
            "frames": len(predictions),
            "windows": len(windows),
            "classifier": self.classifier.spec.name,
            "clip_length": self.classifier.clip_length,
            "frame_rate": self.classifier.frame_rate,
            "frame_step": self.step,
        }
        if windows:
            mean = np.mean([w.probabilities for w in windows], axis=0)
            summary["top"] = [{"label": n, "score": s} for n, s in self._top(mean, self.top)]
        return summary

    def _top(self, probabilities: np.ndarray, k: int) -> list[tuple[str, float]]:
        names = self.classifier.categories
        return [(names[i], round(float(probabilities[i]), 4)) for i in am.top_k(probabilities, k)]


def _normal(name: str) -> str:
    """Class names compare without case, underscores or extra spaces (Kinetics vs folders)."""
    return " ".join(name.replace("_", " ").lower().split())


def _mean(values: Any) -> float:
    found = [float(v) for v in values]
    return float(np.mean(found)) if found else math.nan
