"""The plugin contract: every hook srpipe calls, and the markers plugins use.

Rules that keep plugins working across releases (as in pytest and tox):

* hooks are always *called* with keyword arguments, and an implementation may accept
  fewer arguments than the spec lists (pluggy passes only the ones it names). Specs and
  implementations use plain parameters, never keyword-only ones (``*``): pluggy does not
  see keyword-only parameters and would pass nothing;
* "what exists?" hooks (models, tasks, datasets, options, variants) return lists that are
  concatenated across plugins; "who handles this?" hooks are ``firstresult``;
* observer hooks (``srpipe_item_*``, ``srpipe_report_written``) return nothing and must
  not raise: they are for logging, tracing, dashboards.

The core registers its own models and its image-quality task through these very hooks,
so a third-party plugin is never a second-class citizen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # imported for annotations only: keeps `import srpipe` light
    import click

    from srpipe.models.spec import ModelSpec
    from srpipe.task import DatasetReader, Task, Variant

PROJECT = "srpipe"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorate a plugin's hook implementations with this marker.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(historic=True)
def srpipe_add_hookspecs(pluginmanager: Any) -> None:
    """Add this plugin's own hook specifications: ``pluginmanager.add_hookspecs(module)``.

    For a plugin that calls hooks of its own on *other* plugins (the action task's
    ``action_register_classifiers``). Called as each plugin is registered (a historic hook),
    before the implementations other plugins give for those hooks are validated, so a
    misspelled one is reported like a misspelled ``srpipe_`` hook.
    """


@hookspec
def srpipe_register_models() -> Sequence[ModelSpec]:
    """Return the SR architectures this plugin provides.

    Each :class:`~srpipe.models.spec.ModelSpec` names a builder, the scales it supports,
    its paper and, optionally, bundled default weights per scale. Names must be unique
    across plugins; a clash is reported by ``srpipe plugins``.
    """


@hookspec
def srpipe_register_tasks() -> Sequence[type[Task]]:
    """Return the downstream tasks this plugin provides (subclasses of :class:`~srpipe.task.Task`).

    Each task gets ``srpipe run NAME`` and ``srpipe eval NAME`` with no further code.
    """


@hookspec
def srpipe_register_datasets() -> Sequence[DatasetReader]:
    """Return dataset readers (e.g. YOLO ``data.yaml``, COCO json, LFW ``pairs.txt``).

    A reader declares which task it feeds and answers ``can_read(path)``; ``srpipe eval
    TASK --data PATH`` uses the first reader of that task that can read the path.
    """


# Returns srpipe.data.sources.Source rows; annotated Any because that type lives in the
# engine's data room, above this contract module, which must not import it.
@hookspec
def srpipe_register_sources() -> Sequence[Any]:
    """Return the packaged files this plugin's code reads, each with the one role it plays.

    Each item is a :class:`srpipe.data.sources.Source`: a file inside an installed package
    (or a video, or several copies of one content) and its role: ``train`` (fits a model the
    plugin ships), ``validation`` (selects that model's checkpoint; never published) or
    ``test`` (measured and published; ``tasks`` names the registered tasks whose evaluation
    reads it). Train and validation sources form one pool per role, which every bundled
    model's training reads.

    Declare everything your own code reads, even a source another plugin declares too:
    declarations of one name merge (their ``tasks`` join) when they agree on the files and
    the role. Anything that would let one content play two roles (one name in two roles, one
    file under two names, a scene ``group`` split across roles, ``tasks`` on a train or
    validation source) makes every lookup fail with one line naming the plugins, so no
    published number is measured on data that fitted or selected a model. ``srpipe data
    sources`` lists what is declared.
    """


@hookspec
def srpipe_add_options(task_name: str, command: str) -> Sequence[click.Parameter]:
    """Return extra click options for ``srpipe COMMAND TASK`` (``command`` is "run" or "eval").

    The parsed values reach the task in ``ctx.options`` of ``Task.setup(ctx)``, by parameter
    name, beside the task's own options (an option the user did not give holds its default).
    Use this to extend a task you did not write (e.g. add ``--tta`` to ``detect``).
    """


@hookspec
def srpipe_register_commands(parent: str) -> Sequence[click.Command]:
    """Return click commands to add under the command group ``parent``.

    ``parent`` is ``"srpipe"`` (top-level verbs), ``"data"`` or ``"data synth"`` (e.g. the
    detect plugin adds ``srpipe data synth detect`` to generate its offline benchmark).
    """


@hookspec
def srpipe_add_variants(task: Task, scale: int) -> Sequence[Variant]:
    """Return extra comparison variants for ``task`` at ``scale``.

    Beside ``hr``, ``lr``, ``nearest``, ``bilinear``, ``bicubic`` and every SR model,
    a plugin can add ways to make or consume the image, e.g. sliced inference for detection.
    """


@hookspec(firstresult=True)
def srpipe_load_checkpoint(path: Path, scale: int | None) -> Any:
    """Load a checkpoint format the core does not know; return ``(module, metadata)`` or None.

    Called only after srpipe's own loaders (safetensors, EDSR-PyTorch / RCAN / BasicSR
    state dicts) declined the file. The first non-None answer wins.
    """


@hookspec(firstresult=True)
def srpipe_open_frames(path: Path, start: int = 0, end: int | None = None, stride: int = 1) -> Any:
    """Open ``path`` as a frame sequence if this plugin understands it (e.g. a video file).

    ``start``/``end``/``stride`` select frames by index (``end`` exclusive, None = last).

    Return an iterable frame source (see ``srpipe_video.FrameSequence``) or None. The
    core handles single images and folders of images itself; everything else asks here.
    """


@hookspec(firstresult=True)
def srpipe_open_frame_writer(path: Path, fps: float, size: tuple[int, int], source: Any) -> Any:
    """Return a writer for annotated frames at ``path`` (a video container), or None."""


@hookspec
def srpipe_report_figures(report_json: Path, out: Path) -> Sequence[Path]:
    """Draw extra figures for a comparison report; return the PNG files written under ``out``.

    Called once ``report.json`` is written (read what you need from it) and before
    ``report.md`` and ``report.html``, which embed the returned figures among their plots.
    Return an empty list for reports of tasks you do not know (check ``task.name``).
    """


@hookspec
def srpipe_environment() -> dict[str, str | None]:
    """Return ``{name: version}`` of the libraries this plugin computes with.

    Every report records them beside the core's own (torch, numpy, ...), e.g. the detect
    plugin adds ``ultralytics``. Use :func:`srpipe.environment.distribution_version`; do
    not import a heavy package just to read its version.
    """


@hookspec
def srpipe_item_upscaled(item_id: str, method: str, scale: int, seconds: float) -> None:
    """Observe: one image or frame was upscaled by ``method`` (cache hits are not reported)."""


@hookspec
def srpipe_item_scored(
    task_name: str, variant: str, item_id: str, scores: dict[str, float]
) -> None:
    """Observe: the task scored one item of one comparison variant."""


@hookspec
def srpipe_report_written(path: Path, kind: str) -> None:
    """Observe: an output file was written atomically (``kind``: json, markdown, html, csv...)."""
