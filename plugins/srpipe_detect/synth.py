"""The offline tiny-object benchmark: ``srpipe data synth detect``.

No box dataset ships inside any installable package, so srpipe makes its own, built so
that resolution is what decides the score:

* **Objects**: square tiles 6-24 HR pixels wide with a one-pixel dark outline. The four
  classes share that outline and differ *only* in interior detail (``plain``, ``stripes``,
  ``checker``, ``dot``). After x4 bicubic downscaling a 6-24 px tile is 1.5-6 px wide: it
  is still visible as a blob, but its interior pattern is mostly averaged away, so what
  suffers is mainly *classification* - exactly the information SR claims to restore.
  Base and pattern colours are random, so the mean colour does not give the class away.
* **Rendering**: each tile is drawn 8x supersampled and area-averaged down, so patterns
  are anti-aliased like a camera would see them; boxes are exact integers (tiles sit on
  the pixel grid).
* **Backgrounds**: real photographs and video frames from packaged media, randomly
  rescaled and cropped to ``size`` x ``size``.
* **Split by background source, from the source registry** (:mod:`srpipe.data.sources`):
  ``train`` images sit on ``train`` sources, ``val`` (the detector's epoch selection) on
  ``validation`` sources, ``test`` (what ``srpipe eval detect`` measures by default) on the
  ``test`` sources the detect evaluation reads. No background plays two roles.
* **Deterministic**: every image is drawn from its own ``numpy`` generator seeded by
  ``(seed, split, index)``; the same arguments give byte-identical PNGs and labels.

The output is YOLO format (``data.yaml``, ``images/{train,val,test}``, ``labels/...``)
plus ``manifest.json`` recording each image's background source (used as the bootstrap
group in ``srpipe eval``) and the generator's parameters.
"""

from __future__ import annotations

import colorsys
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np
from tqdm import tqdm

from srpipe.atomic import atomic_path
from srpipe.data import sources
from srpipe.environment import cache_dir
from srpipe.errors import SrpipeError
from srpipe.image.resize import degrade

if TYPE_CHECKING:
    import click

#: bump when the generator changes, so cached copies are regenerated
VERSION = 2
CLASS_NAMES = ("plain", "stripes", "checker", "dot")
#: split of the set -> (registry role, evaluation) its backgrounds come from
SPLIT_ROLES = {
    "train": (sources.TRAIN, ""),
    "val": (sources.VALIDATION, ""),
    "test": (sources.TEST, "detect"),
}
#: frames taken (evenly spaced) from a background clip
CLIP_FRAMES = 8
_SUPERSAMPLE = 8


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of the generated benchmark (all recorded in ``manifest.json``)."""

    train: int = 240
    val: int = 80
    test: int = 80
    size: int = 320
    min_object: int = 6
    max_object: int = 24
    min_objects: int = 6
    max_objects: int = 16
    seed: int = 0


def default_dataset_dir() -> Path:
    """Where the default benchmark lives: ``<cache>/datasets/detect-synth-v<VERSION>``."""

    return cache_dir() / "datasets" / f"detect-synth-v{VERSION}"


def ensure_default_dataset() -> Path:
    """Generate the default benchmark into the cache unless it is already complete."""
    root = default_dataset_dir()
    try:  # a set made there with other options (`--train 10` and no --out) is not the default
        config = json.loads((root / "manifest.json").read_text())["config"]
        complete = (root / "data.yaml").is_file() and config == SynthConfig().__dict__
    except (OSError, ValueError, KeyError, TypeError):
        complete = False
    if not complete:
        generate(root, SynthConfig())
    return root


# -- backgrounds ---------------------------------------------------------------------------


def _read_clip(path: Path, count: int) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = {int(i) for i in np.linspace(0, max(total - 1, 0), count)}
    frames = []
    index = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if index in wanted:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        index += 1
    cap.release()
    if not frames:
        raise SrpipeError(f"cannot decode packaged video {path}; check opencv's video support")
    return frames


def split_sources(split: str) -> list[sources.Source]:
    """The registry's background sources of one split, sorted by name."""
    return sorted(sources.for_split(*SPLIT_ROLES[split]), key=lambda s: s.name)


def _load_background(source: sources.Source) -> list[np.ndarray]:
    if source.kind == "video":
        return _read_clip(source.path(), CLIP_FRAMES)
    return [sources.read_still(source.path())]


def _as_rgb(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.shape[2] == 4:
        img = img[:, :, :3]
    if img.dtype != np.uint8:  # skimage returns a few float or bool images
        img = np.clip(img.astype(np.float64) * (255 if img.max() <= 1 else 1), 0, 255)
        img = img.round().astype(np.uint8)
    return np.ascontiguousarray(img)


def _random_crop(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Rescale so the short side lies in [size, 2*size] (never below), then crop a square."""
    import cv2

    h, w = img.shape[:2]
    short = min(h, w)
    target = rng.uniform(size, max(size, min(short, 2 * size)) + 1e-6)
    factor = target / short
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    nh, nw = max(size, round(h * factor)), max(size, round(w * factor))
    img = cv2.resize(img, (nw, nh), interpolation=interp)
    y = int(rng.integers(0, nh - size + 1))
    x = int(rng.integers(0, nw - size + 1))
    return img[y : y + size, x : x + size].copy()


# -- objects -------------------------------------------------------------------------------


def _pattern_mask(cls: int, n: int) -> np.ndarray:
    """Boolean (n, n) mask of the pattern colour inside a tile's interior."""
    v, u = (np.mgrid[0:n, 0:n] + 0.5) / n
    if cls == 0:  # plain
        return np.zeros((n, n), bool)
    if cls == 1:  # stripes: five horizontal bands, the 2nd and 4th in the pattern colour
        return (np.floor(v * 5).astype(int) % 2) == 1
    if cls == 2:  # checker: 4 x 4 cells
        return ((np.floor(u * 4) + np.floor(v * 4)).astype(int) % 2) == 1
    if cls == 3:  # dot: a centred disc of radius 0.22 of the tile
        return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.22**2
    raise ValueError(f"unknown class {cls}")


def render_tile(cls: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One anti-aliased RGB uint8 tile of class ``cls``, ``size`` x ``size`` pixels."""
    import cv2

    ss = size * _SUPERSAMPLE
    # base and pattern colours far apart in brightness so the detail is visible at HR
    base_v = rng.uniform(150, 255)
    pat_v = rng.uniform(10, 90)
    hue = rng.uniform(0, 1, size=2)
    base = _hue_colour(hue[0], rng.uniform(0.2, 0.9), base_v)
    pattern = _hue_colour(hue[1], rng.uniform(0.2, 0.9), pat_v)
    if rng.random() < 0.5:  # dark tiles with light detail as often as the reverse
        base, pattern = pattern, base
    tile = np.empty((ss, ss, 3), np.float64)
    tile[:] = base
    border = _SUPERSAMPLE  # exactly one output pixel
    inner = ss - 2 * border
    mask = _pattern_mask(cls, inner)
    tile[border:-border, border:-border][mask] = pattern
    outline = rng.uniform(0, 40)
    tile[:border, :] = outline
    tile[-border:, :] = outline
    tile[:, :border] = outline
    tile[:, -border:] = outline
    small = cv2.resize(tile.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(small.round(), 0, 255).astype(np.uint8)


def _hue_colour(hue: float, sat: float, value: float) -> np.ndarray:

    return np.array(colorsys.hsv_to_rgb(hue, sat, value / 255.0)) * 255.0


def _place_objects(
    img: np.ndarray, cfg: SynthConfig, rng: np.random.Generator
) -> list[tuple[int, int, int, int, int]]:
    """Paste non-overlapping tiles; return (cls, x1, y1, x2, y2) with exclusive x2/y2."""
    size = img.shape[0]
    count = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    boxes: list[tuple[int, int, int, int, int]] = []
    for _ in range(count * 20):  # bounded rejection sampling
        if len(boxes) == count:
            break
        s = int(rng.integers(cfg.min_object, cfg.max_object + 1))
        x = int(rng.integers(2, size - s - 2))
        y = int(rng.integers(2, size - s - 2))
        gap = 4  # keep tiles apart so every box is unambiguous
        if any(
            x < bx2 + gap and bx1 < x + s + gap and y < by2 + gap and by1 < y + s + gap
            for _, bx1, by1, bx2, by2 in boxes
        ):
            continue
        cls = int(rng.integers(0, len(CLASS_NAMES)))
        img[y : y + s, x : x + s] = render_tile(cls, s, rng)
        boxes.append((cls, x, y, x + s, y + s))
    return boxes


# -- generation ----------------------------------------------------------------------------


def _iter_split(
    split: str, count: int, cfg: SynthConfig
) -> Iterator[tuple[str, str, np.ndarray, list[tuple[int, int, int, int, int]]]]:
    backgrounds = split_sources(split)
    cache: dict[str, list[np.ndarray]] = {}
    split_id = list(SPLIT_ROLES).index(split)
    for index in range(count):
        rng = np.random.default_rng([cfg.seed, split_id, index])
        chosen = backgrounds[index % len(backgrounds)]  # round robin: each equally used
        source = chosen.name
        if source not in cache:
            cache[source] = [_as_rgb(im) for im in _load_background(chosen)]
        frames = cache[source]
        bg = frames[int(rng.integers(0, len(frames)))]
        img = _random_crop(bg, cfg.size, rng)
        boxes = _place_objects(img, cfg, rng)
        # mild sensor noise so tiles are not perfectly flat (and HR is not trivially clean)
        noisy = img.astype(np.float32) + rng.normal(0, 2.0, img.shape).astype(np.float32)
        img = np.clip(noisy.round(), 0, 255).astype(np.uint8)
        yield f"{split}_{index:04d}", source, img, boxes


def generate(out: Path, cfg: SynthConfig | None = None, *, progress: bool = False) -> Path:
    """Write the benchmark to ``out`` (YOLO format); atomic: built aside, then renamed."""
    import cv2

    cfg = cfg or SynthConfig()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        manifest: dict = {
            "generator": "srpipe_detect.synth",
            "version": VERSION,
            "config": cfg.__dict__,
            "classes": list(CLASS_NAMES),
            "sources": {split: [s.name for s in split_sources(split)] for split in SPLIT_ROLES},
            "images": {},
        }
        for split, count in (("train", cfg.train), ("val", cfg.val), ("test", cfg.test)):
            (tmp / "images" / split).mkdir(parents=True)
            (tmp / "labels" / split).mkdir(parents=True)
            stream = _iter_split(split, count, cfg)
            if progress:
                stream = tqdm(stream, total=count, desc=f"synth {split}", unit="img")
            for stem, source, img, boxes in stream:
                ok = cv2.imwrite(str(tmp / "images" / split / f"{stem}.png"), img[:, :, ::-1])
                if not ok:
                    raise SrpipeError(f"cannot write {tmp / 'images' / split}; check disk space")
                s = cfg.size
                lines = [
                    f"{c} {(x1 + x2) / 2 / s:.6f} {(y1 + y2) / 2 / s:.6f} "
                    f"{(x2 - x1) / s:.6f} {(y2 - y1) / s:.6f}"
                    for c, x1, y1, x2, y2 in boxes
                ]
                label = "\n".join(lines) + ("\n" if lines else "")
                (tmp / "labels" / split / f"{stem}.txt").write_text(label)
                manifest["images"][f"{split}/{stem}.png"] = {"source": source, "boxes": boxes}
        names = "\n".join(f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES))
        (tmp / "data.yaml").write_text(
            "# srpipe synthetic tiny-object benchmark (srpipe data synth detect)\n"
            f"path: {out.resolve()}\ntrain: images/train\nval: images/val\ntest: images/test\n"
            f"names:\n{names}\n"
        )
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def make_demo_video(path: Path, frames: int = 48, scale: int = 4) -> dict[str, Any]:
    """A short LR clip with tiny objects: consecutive bigbuckbunny frames + tiles, degraded x4.

    The HR frames are 1280x720; tiles of 12-24 HR px (3-6 px after x4 downscaling) are
    pasted at the same places in every frame (one seed for the clip) over the moving
    background, and each frame is degraded with srpipe's MATLAB bicubic to 320x180 and
    written as mp4v (OpenCV), atomically. What `make demo` feeds to `srpipe run detect`.
    """

    import cv2

    if frames < 1:
        raise SrpipeError(f"--frames must be at least 1, got {frames}")
    source = sources.get("bigbuckbunny").path()  # a test source the detect evaluation reads
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS) or 24.0
    cfg = SynthConfig(min_objects=12, max_objects=18, min_object=12, max_object=24)
    writer = None
    written = 0
    boxes: list[tuple[int, int, int, int, int]] = []
    with atomic_path(path) as tmp:
        while written < frames:
            ok, bgr = cap.read()
            if not ok:
                break
            hr = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            side = min(hr.shape[:2])
            left = (hr.shape[1] - side) // 2
            # same seed every frame: the tiles stay put while the background moves
            boxes = _place_objects(hr[:, left : left + side], cfg, np.random.default_rng(7))
            lr = degrade(hr, scale)
            if writer is None:
                fourcc = cv2.VideoWriter_fourcc(*"mp4v")
                writer = cv2.VideoWriter(str(tmp), fourcc, fps, (lr.shape[1], lr.shape[0]))
            writer.write(cv2.cvtColor(lr, cv2.COLOR_RGB2BGR))
            written += 1
        cap.release()
        if writer is None:
            raise SrpipeError(
                f"cannot decode packaged video {source}; check opencv's video support"
            )
        writer.release()
    return {
        "frames": written,
        "fps": fps,
        "size": [lr.shape[1], lr.shape[0]],
        "objects": len(boxes),
        "source": "bigbuckbunny.mp4 + synthetic tiles",
    }


def synth_command() -> click.Command:
    """The click command ``srpipe data synth detect``."""

    @click.command("detect")
    @click.option(
        "--out",
        type=click.Path(path_type=Path),
        default=None,
        help="Output folder. Default: srpipe's cache (used by `srpipe eval detect`).",
    )
    @click.option(
        "--train",
        "n_train",
        type=int,
        default=SynthConfig.train,
        show_default=True,
        help="Training images.",
    )
    @click.option(
        "--val",
        "n_val",
        type=int,
        default=SynthConfig.val,
        show_default=True,
        help="Validation images (different background sources).",
    )
    @click.option(
        "--size",
        type=int,
        default=SynthConfig.size,
        show_default=True,
        help="Image side in HR pixels.",
    )
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option(
        "--video",
        type=click.Path(path_type=Path),
        default=None,
        help="Instead, write a 320x180 demo clip with tiny objects (packaged video, x4 LR).",
    )
    @click.option(
        "--frames", type=int, default=48, show_default=True, help="Frames of the --video clip."
    )
    def detect(
        out: Path | None,
        n_train: int,
        n_val: int,
        size: int,
        seed: int,
        video: Path | None,
        frames: int,
    ) -> None:
        """Generate the tiny-object benchmark (4 classes that differ only in 6-24 px detail).

        With --video, write a short low-resolution clip with tiny objects instead, for
        `srpipe run detect --sr edsr --scale 4 CLIP`.
        """
        if video is not None:
            info = make_demo_video(video, frames)
            click.echo(
                f"wrote {info['frames']} frames {info['size'][0]}x{info['size'][1]} "
                f"with {info['objects']} tiny objects to {video}"
            )
            return
        if size < 64:
            raise SrpipeError(f"--size {size} is too small; use 64 or more")
        cfg = SynthConfig(train=n_train, val=n_val, size=size, seed=seed)
        path = generate(out or default_dataset_dir(), cfg, progress=True)
        click.echo(f"wrote {n_train} train + {n_val} val images to {path} (data.yaml)")

    return detect
