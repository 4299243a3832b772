"""What a downstream task is, to srpipe: the contract every task plugin implements.

A task never knows how its input images were made (HR, bicubic, SR model, ...): it gets
RGB ``uint8`` arrays of shape (H, W, 3) and returns predictions. The core does the rest:
reading inputs (images, folders, videos via ``srpipe_open_frames``), upscaling, the
``run`` loop with its outputs, and the ``eval`` comparison with its statistics and report.

To write a task: subclass :class:`Task`, fill in the class attributes and the methods
marked *required*, and return the class from the ``srpipe_register_tasks`` hook. See
``docs/writing-a-plugin.md`` for a complete one-file example.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from srpipe.image.io import header_size, read_image

if TYPE_CHECKING:
    import click


#: the commands a task serves
Command = Literal["run", "eval"]


@dataclass(frozen=True)
class TaskContext:
    """Everything :meth:`Task.setup` is told: which command, where, at which scales.

    ``options`` holds the parsed values of the task's own options (``Task.options``) and of
    options other plugins add (``srpipe_add_options``), by parameter name; an option the
    user did not give has its declared default.
    """

    #: "run" (``srpipe run TASK INPUT``) or "eval" (``srpipe eval TASK``)
    command: Command
    #: ``--device`` as given: "auto", "cpu", "cuda", "cuda:1", "mps"
    device: str = "auto"
    #: eval: the scales the comparison runs (a task may size its ground truth by them);
    #: run: the one upscaling factor (1 with ``--sr none``)
    scales: tuple[int, ...] = ()
    #: eval: ``--limit`` (None = every item); run: None
    limit: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any = None) -> Any:
        """``options[name]``, or ``default`` when absent or None."""
        value = self.options.get(name)
        return default if value is None else value


@dataclass
class Item:
    """One evaluation item: an HR image and its ground truth, in HR pixel coordinates.

    A reader either gives the decoded ``image`` (an eager reader) or describes the item
    and says how to get its image: ``load``, a picklable callable (an :class:`ImageFile`,
    or a ``functools.partial`` of a module-level function) so the index can travel to other
    ranks. The harness decodes a chunk of items when it scores them and lets them go after,
    so memory does not grow with the number of items. ``size`` is the HR (width, height)
    when the reader knows it without decoding (sharding weighs chunks by it).
    """

    id: str
    #: HR, RGB uint8 (H, W, 3); None while the item is only described (``load`` decodes it)
    image: np.ndarray | None = None
    target: Any = None
    #: Items sharing a group (a video, a person, a background source) are resampled
    #: together by the bootstrap, so correlated items do not shrink the CI unfairly.
    group: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: decodes the HR image on demand (picklable: an ImageFile or a partial of a
    #: module-level function); None for an eager item
    load: Callable[[], np.ndarray] | None = None
    #: HR (width, height) when known without decoding; None: unknown until decoded
    size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.image is None and self.load is None:
            raise TypeError(f"item {self.id!r} has neither an image nor a load to decode it")

    @classmethod
    def from_file(
        cls,
        id: str,
        path: str | Path,
        *,
        target: Any = None,
        group: str | None = None,
        meta: dict[str, Any] | None = None,
        size: tuple[int, int] | None = None,
    ) -> Item:
        """An item decoded from ``path`` only when scored; its size read from the header."""
        return cls(
            id=id,
            target=target,
            group=group,
            meta=dict(meta or {}),
            load=ImageFile(str(path)),
            size=size if size is not None else header_size(path),
        )

    def hr_image(self) -> np.ndarray:
        """The HR image: the one held, else decoded now (not kept on the item)."""
        if self.image is not None:
            return self.image
        assert self.load is not None  # __post_init__ guarantees one of the two
        return self.load()

    def decoded(self) -> Item:
        """A copy of this item holding its decoded image (this item stays light)."""
        if self.image is not None:
            return self
        return dataclasses.replace(self, image=self.hr_image())

    def pixel_size(self) -> tuple[int, int] | None:
        """HR (width, height): the image's when held, else ``size`` (None if unknown)."""
        if self.image is not None:
            return int(self.image.shape[1]), int(self.image.shape[0])
        return self.size


@dataclass(frozen=True)
class ImageFile:
    """The usual :attr:`Item.load`: decodes one image file as RGB uint8 when called.

    A plain dataclass of a path, so it pickles (the index is sent to other ranks) and
    says what it reads (a changed file invalidates a resumed eval's saved chunks).
    """

    path: str

    def __call__(self) -> np.ndarray:
        return read_image(self.path)


@dataclass
class Dataset:
    """A named, ordered collection of items plus a note on its provenance and limits."""

    name: str
    #: light descriptions (``Item.load``) or decoded items; the harness decodes on demand
    items: list[Item]
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)


class DatasetReader:
    """Reads a dataset format for one task (registered with ``srpipe_register_datasets``)."""

    #: the task this reader feeds, e.g. "detect"
    task: ClassVar[str] = ""
    #: short format name shown in help, e.g. "yolo", "coco", "lfw"
    format: ClassVar[str] = ""

    def can_read(self, path: Path) -> bool:
        """True if ``path`` looks like this format (cheap: check file names, not contents)."""
        raise NotImplementedError

    def read(self, path: Path, task: Task) -> Dataset:
        """Load the dataset for ``task`` (set up: read its options, share its models).

        Raise ``SrpipeError`` with a one-line fix on bad input.
        """
        raise NotImplementedError


@dataclass
class Variant:
    """One way of producing (and optionally consuming) the image a task sees.

    ``prepare(hr, lr)`` returns the image given to the task; ``to_hr`` is the factor
    that maps prediction coordinates back to HR (1.0 when the image has HR size).
    A variant may replace prediction entirely (e.g. sliced inference) with ``predict``.
    """

    name: str
    prepare: Callable[[np.ndarray, np.ndarray], np.ndarray]
    to_hr: float = 1.0
    predict: Callable[[Task, Sequence[np.ndarray]], list[Any]] | None = None
    kind: str = "baseline"  # "oracle", "baseline", "sr", or "task" (plugin-added)
    meta: dict[str, Any] = field(default_factory=dict)


class Task:
    """Base class of every downstream task.

    Lifecycle: the core instantiates the task (no arguments), calls :meth:`setup` once
    with a :class:`TaskContext`, then either the run loop (``predict`` -> ``draw`` /
    ``records`` -> ``summarize``) or the comparison (a :class:`DatasetReader` or
    :meth:`load_dataset` -> :meth:`not_measurable` on the loaded set -> ``predict`` on
    every variant -> ``item_scores`` -> ``evaluate`` -> :meth:`more_data` for verdicts).
    Only :attr:`name`, :attr:`metrics` (for eval) and :meth:`predict` are required;
    everything else has a working default.
    """

    #: command name: ``srpipe run NAME`` / ``srpipe eval NAME``
    name: ClassVar[str] = ""
    #: one line for ``srpipe tasks`` and ``--help`` (the class docstring is the long help)
    summary: ClassVar[str] = ""
    #: metric names in report order; the first is the headline metric
    metrics: ClassVar[tuple[str, ...]] = ()
    #: metrics where lower is better (everything else: higher is better)
    lower_is_better: ClassVar[frozenset[str]] = frozenset()
    #: shown in ``eval --help`` as what ``load_dataset(None)`` reads (``--data`` not given)
    default_data: ClassVar[str | None] = None
    #: True when every metric is the mean of ``item_scores`` over items: ``evaluate`` then
    #: needs no code, and the harness keeps only per-item scores (not predictions) and
    #: vectorises the bootstrap
    evaluate_is_item_mean: ClassVar[bool] = False
    #: True when ``predict`` or ``item_scores`` of an item depends on the items before it
    #: in its group (video frames scored against the previous frame): the harness then
    #: never puts two groups in one chunk, and a distributed ``eval`` keeps each group on
    #: one rank, in order
    sequential_groups: ClassVar[bool] = False
    #: in ``run``, how many frames before a frame ``predict`` must have seen for its result
    #: to be right (a temporal measure against the previous frame: 1). A distributed ``run``
    #: of one video has each rank predict (not record) that many frames before its range;
    #: None: every frame from the first (a tracker), so such a video runs on one rank
    run_context_frames: int | None = 0
    #: metrics shown as "A/B" cells in the papers' table layout (e.g. ("psnr", "ssim"))
    paper_table_metrics: ClassVar[tuple[str, ...] | None] = None

    # -- configuration ---------------------------------------------------------------
    @classmethod
    def options(cls, command: Command) -> list[click.Parameter]:
        """Extra click options for ``run`` or ``eval`` (values arrive in ``ctx.options``)."""
        return []

    def setup(self, ctx: TaskContext) -> None:
        """Load models and remember options. Called once before any prediction.

        Optional (default: nothing). ``ctx`` says which command is served, the device, the
        scales, ``--limit`` and the parsed options.
        """

    # -- prediction (required) -------------------------------------------------------
    def predict(self, images: Sequence[np.ndarray]) -> list[Any]:
        """Predict on a batch of RGB uint8 images; one prediction per image. *Required.*"""
        raise NotImplementedError

    def rescale(self, prediction: Any, factor: float) -> Any:
        """Map a prediction's coordinates by ``factor`` (used for the ``lr`` variant).

        Tasks whose predictions have no coordinates return ``prediction`` unchanged
        (the default); a task that cannot map them raises ``NotImplementedError`` and
        the ``lr`` variant is skipped.
        """
        return prediction

    def read_input(self, path: Path) -> np.ndarray:
        """How ``srpipe run`` decodes one image file for this task.

        Default: RGB uint8 (H, W, 3) through :func:`srpipe.image.io.read_image`. A task on
        high-bit-depth data (``medical``) returns a single-channel uint16 (H, W) array
        instead; the Upscaler and the annotated-image writer keep it 16-bit.
        """

        return read_image(path)

    # -- run outputs -----------------------------------------------------------------
    def draw(self, image: np.ndarray, prediction: Any) -> np.ndarray:
        """Return a copy of ``image`` annotated with ``prediction`` (default: unchanged)."""
        return image

    def records(self, prediction: Any) -> list[dict[str, Any]]:
        """Rows for JSON/CSV output, one per found thing (default: one row, the repr)."""
        return [{"prediction": repr(prediction)}]

    def describe(self, prediction: Any) -> Any:
        """A compact, JSON-serialisable summary of one prediction, kept per item in report.json.

        It lets a reader audit what the task saw on each variant (e.g. the boxes found, the
        label chosen). Default: :meth:`records` when the task defines it, else None (nothing
        kept). Keep it small: it is stored for every item, variant and scale.
        """
        if type(self).records is Task.records:
            return None
        return self.records(prediction)

    def summarize(self, predictions: Sequence[Any]) -> dict[str, Any]:
        """A run's final summary (e.g. counts per class); default: number of images."""
        return {"images": len(predictions)}

    # -- evaluation (required for eval) -----------------------------------------------
    def load_dataset(self, data: str | None, **options: Any) -> Dataset:
        """Load ``--data`` (or :attr:`default_data` when None) as HR items. *Required for eval.*

        The core first tries registered :class:`DatasetReader` s for this task; it calls
        this method only when none of them can read ``data``.
        """
        raise NotImplementedError(f"task {self.name!r} has no dataset loader")

    def use_dataset(self, dataset: Dataset) -> None:
        """Configure this task from the dataset it will be evaluated on (default: nothing).

        Called on every rank with the loaded set; under torchrun only rank 0 runs the reader
        and the others receive its items, so a task that sets itself up from the data (picks
        its model by the data's class names, switches metrics) does it here, not only in a
        reader. Must be idempotent: rank 0's reader may already have called it.
        """

    def evaluate(self, predictions: Sequence[Any], items: Sequence[Item]) -> dict[str, float]:
        """Dataset-level metrics of ``predictions`` against ``items``. *Required for eval*
        unless :attr:`evaluate_is_item_mean` (then: the mean of each metric over items,
        NaN item scores left out).

        Called once on the full set and again on bootstrap resamples (items may repeat),
        so it must be a pure function of its arguments. The harness passes the items as
        described (``item.image`` may be None: use targets and meta, not pixels; pixel
        measures belong in :meth:`item_scores`), with ``item.meta["scale"]`` set.
        """
        if not self.evaluate_is_item_mean:
            raise NotImplementedError(
                f"task {self.name!r} defines neither evaluate() nor evaluate_is_item_mean"
            )
        rows = [self.item_scores(p, i) for p, i in zip(predictions, items)]
        means = {}
        for metric in self.metrics:
            values = np.array([float(r.get(metric, np.nan)) for r in rows], dtype=float)
            defined = values[~np.isnan(values)]
            means[metric] = float(defined.mean()) if defined.size else float("nan")
        return means

    def item_scores(self, prediction: Any, item: Item) -> dict[str, float]:
        """Per-item metrics (kept in the report, used for paired deltas). Optional.

        ``item`` is decoded (``item.image`` holds HR cropped to a multiple of the scale,
        bottom/right, so coordinates do not move) and ``item.meta["scale"]`` is set.
        """
        return {}

    # -- what a set can and cannot tell (optional, eval) ---------------------------------
    def not_measurable(self, items: Sequence[Item]) -> dict[str, str]:
        """Metrics these items cannot measure at all, with the reason (metric -> why).

        E.g. TAR at FAR 1e-3 needs at least 1000 impostor pairs. Such a metric is reported
        as not measurable (null in report.json, "n/m" in text), never as a number.
        Optional (default: every metric is measurable). Called once per comparison, after
        :meth:`setup`, on the whole loaded set.
        """
        return {}

    def more_data(self, items: Sequence[Item]) -> str:
        """What data would give these items the power to tell whether SR helps.

        Shown when even HR is not significantly better than the baseline. Optional: the
        default speaks of independent groups (:attr:`Item.group`), the unit the intervals
        count. Called after :meth:`setup`, on the whole loaded set.
        """
        groups = {
            item.group if item.group is not None else ("item", i) for i, item in enumerate(items)
        }
        return (
            f"more independent groups of items (this set has {len(groups)}; items that share "
            "a group count once), or a task model that HR and the baseline separate clearly"
        )

    # -- task-driven SR training (optional) -------------------------------------------------
    def differentiable(self, device: Any) -> DifferentiableView | None:
        """A :class:`DifferentiableView` of this task on ``device`` (a ``torch.device``), or
        None (the default) when the task cannot drive SR training.

        Called after :meth:`setup`, by ``srpipe train --task NAME`` only. Raise
        ``SrpipeError`` when the configured models cannot be differentiated (e.g. a
        non-torch backend), saying which option would choose one that can.
        """
        return None


# -- task-driven SR training (optional) ---------------------------------------------------
class DifferentiableView:
    """A task's differentiable view of itself on image batches (``srpipe train --task``).

    Optional: a task that returns one from :meth:`Task.differentiable` can drive SR
    training. Images are float tensors (N, 3, H, W), RGB in [0, 1], on the view's device;
    gradients must flow from what a method returns back into ``images``. Targets are the
    :attr:`Item.target` values of :meth:`training_data`, in HR pixel coordinates.

    Implement what the recipes you want need (``srpipe train --help`` lists them):

    * :meth:`features` - feature maps for the task-driven perceptual loss (``tdp``, ``sr4ir``);
    * :meth:`loss` - the task's own training loss given targets (``t2s``, ``s2t``, ``sr4ir``);
    * :attr:`module` and :meth:`save` - the trainable task network and how to write it so
      the task's weights option loads it (``s2t``, ``sr4ir``, which update the task net).

    :meth:`training_data` is always required: training reads task-*train* data only.
    """

    #: the trainable task network (None: the task net cannot be trained through srpipe)
    module: Any = None
    #: how the file written by :meth:`save` is loaded, e.g. ``"--detector"`` (shown to users)
    weights_option: ClassVar[str] = ""
    #: the file suffix :meth:`save` writes
    weights_suffix: ClassVar[str] = ".pt"

    def training_data(self, split: Literal["train", "val"], data: str | None = None) -> Dataset:
        """HR items with targets: ``train`` fits, ``val`` selects the checkpoint. *Required.*

        ``data`` is the config's ``task.data`` (None: the task's default training set).
        Never a split that the task's evaluation measures.
        """
        raise NotImplementedError

    def features(self, images: Any) -> list[Any]:
        """Feature maps of ``images`` (a few levels) for the perceptual loss."""
        raise NotImplementedError

    def feature_loss(self, sr: list[Any], hr: list[Any]) -> Any:
        """Distance between feature maps of SR and HR images; default: mean L1 over levels."""
        import torch

        return torch.stack([(a.float() - b.float()).abs().mean() for a, b in zip(sr, hr)]).mean()

    def loss(self, images: Any, targets: Sequence[Any]) -> Any:
        """The task's training loss of ``images`` against ``targets`` (a scalar tensor)."""
        raise NotImplementedError

    def save(self, path: Path) -> None:
        """Write :attr:`module` so that the task's :attr:`weights_option` loads ``path``."""
        raise NotImplementedError

    def capabilities(self) -> frozenset[str]:
        """Which parts are implemented: ``features``, ``loss``, ``trainable``."""
        cls = type(self)
        found = set()
        if cls.features is not DifferentiableView.features:
            found.add("features")
        if cls.loss is not DifferentiableView.loss:
            found.add("loss")
        if self.module is not None and cls.save is not DifferentiableView.save:
            found.add("trainable")
        return frozenset(found)
