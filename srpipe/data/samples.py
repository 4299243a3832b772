"""The offline SR corpus: HR images from media that installed packages ship.

No benchmark set (DIV2K, Set5, ...) can be downloaded on an offline machine, but
scikit-image, matplotlib and friends carry real photos inside their wheels.
:func:`build_samples` writes them as three folders of PNGs plus ``manifest.json`` under
``cache_dir()/samples``:

``train/``  the registry's ``train`` stills: fit the bundled SR weights;
``val/``    the registry's ``validation`` stills: select the checkpoint, never published;
``test/``   the registry's ``test`` stills read by the ``sr`` evaluation: the ``eval sr``
            default set, where every published SR number is measured.

Which file goes where is decided by :mod:`srpipe.data.sources`, not here, so the corpus can
never overlap the task evaluation sets (tests/data/test_sources.py checks it). Clips are not
in the corpus: every packaged clip is a task evaluation source.

The build is deterministic: same packages in, byte-identical PNGs and manifest out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from srpipe import atomic
from srpipe.data import sources
from srpipe.environment import cache_dir
from srpipe.errors import SrpipeError

#: bump when the corpus definition changes, so stale caches are rebuilt
CORPUS_VERSION = 3


#: corpus split -> registry role it reads (the SR test split is the `eval sr` default set)
SPLITS: dict[str, tuple[str, str]] = {
    "train": (sources.TRAIN, ""),
    "val": (sources.VALIDATION, ""),
    "test": (sources.TEST, "sr"),
}


def corpus_sources(split: str) -> tuple[sources.Source, ...]:
    """The registry's sources of one corpus split (``train``, ``val`` or ``test``)."""
    if split not in SPLITS:
        raise SrpipeError(f"unknown samples split {split!r}; one of {', '.join(SPLITS)}")
    role, task = SPLITS[split]
    return sources.for_split(role, task, kind="image")


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


def _write_png(path: Path, rgb) -> str:
    """Write an RGB PNG atomically; return its sha256."""
    import cv2

    ok, buf = cv2.imencode(".png", rgb[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise SrpipeError(f"cannot encode {path}")
    data = buf.tobytes()
    atomic.write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def build_samples(dest: Path | None = None, *, force: bool = False, progress=None) -> Path:
    """Build (or reuse) the corpus under ``dest`` (default :func:`samples_dir`).

    Returns the corpus root, holding ``train/``, ``val/`` and ``manifest.json``. An existing
    corpus of the same :data:`CORPUS_VERSION` is reused unless ``force``. ``progress`` is an
    optional callable taking one message string.
    """
    sources.check_roles()
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
    used: list[dict[str, str]] = []
    for split in SPLITS:
        (root / split).mkdir(parents=True, exist_ok=True)
        for source in corpus_sources(split):
            if progress:
                progress(f"{split:5s} {source.name}")
            rgb = sources.read_still(source.path())
            rel = f"{split}/{source.name}.png"
            digest = _write_png(root / rel, rgb)
            entries.append(SampleEntry(rel, source.name, split, rgb.shape[1], rgb.shape[0], digest))
            used.append({"name": source.name, "split": split, "licence": source.licence})
    manifest = {
        "version": CORPUS_VERSION,
        "description": "srpipe offline SR corpus; roles from srpipe/data/sources.py",
        "sources": used,
        "images": [asdict(e) for e in entries],
    }
    atomic.write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return root


def split_files(split: str, root: Path | None = None) -> list[Path]:
    """The image files of one split (``train``, ``val``, ``test``); builds the corpus if needed."""
    root = build_samples(root)
    manifest = json.loads((root / "manifest.json").read_text())
    return [root / e["file"] for e in manifest["images"] if e["split"] == split]
