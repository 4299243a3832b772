"""Which verification pairs a face dataset holds: LFW ``pairs.txt`` or seeded identity folders.

This is the first of reading a dataset's two steps (see :mod:`srpipe_faces.datasets` for the
second, finding and embedding the faces). It is apart because it touches only file names and
the pairs file: no image is decoded and no detector or embedder is loaded, so scripts and the
gallery can list identities and pairs cheaply, and the pairing rules (folds, balance, seeds)
are read and tested on their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srpipe.errors import SrpipeError

#: LFW image folders as distributed (original, funneled, deep-funneled)
LFW_IMAGE_DIRS = ("lfw", "lfw-deepfunneled", "lfw_funneled", "lfw-funneled", "images", ".")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class PairSpec:
    """One verification pair before any face is found: probe and gallery image paths."""

    probe: Path
    probe_identity: str
    gallery: Path
    gallery_identity: str
    fold: int

    @property
    def same(self) -> bool:
        """True for a genuine (same identity) pair."""
        return self.probe_identity == self.gallery_identity


def identity_folders(root: Path) -> dict[str, list[Path]]:
    """``root/<identity>/<image>`` -> {identity: sorted image paths} (empty folders left out)."""
    people: dict[str, list[Path]] = {}
    for folder in sorted(
        p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")
    ):
        images = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if images:
            people[folder.name] = images
    return people


def find_pairs_file(path: Path) -> Path | None:
    """``path`` itself if it is a pairs file, else ``path/pairs.txt`` (or pairsDevTest.txt)."""
    path = Path(path)
    if path.is_file() and path.suffix == ".txt":
        return path
    for name in ("pairs.txt", "pairsDevTest.txt"):
        if (path / name).is_file():
            return path / name
    return None


def lfw_image_path(root: Path, name: str, number: int) -> Path:
    """LFW's naming: ``root/Aaron_Peirsol/Aaron_Peirsol_0002.jpg``."""
    return root / name / f"{name}_{number:04d}.jpg"


def parse_lfw_pairs(pairs_file: Path, images_root: Path | None = None) -> list[PairSpec]:
    """Parse LFW's ``pairs.txt``: header ``folds n`` (or ``n``), then per fold n matched
    lines ``name i j`` followed by n mismatched lines ``name1 i name2 j``.
    """
    pairs_file = Path(pairs_file)
    lines = [ln.split() for ln in pairs_file.read_text().splitlines() if ln.strip()]
    if not lines:
        raise SrpipeError(f"{pairs_file} is empty; expected LFW's pairs.txt")
    header = lines[0]
    try:
        numbers = [int(v) for v in header]
    except ValueError:
        raise SrpipeError(
            f"{pairs_file}: first line {' '.join(header)!r} is not LFW's header ('10 300')"
        ) from None
    folds, per_class = (numbers[0], numbers[1]) if len(numbers) == 2 else (1, numbers[0])
    body = lines[1:]
    if len(body) != folds * 2 * per_class:
        raise SrpipeError(
            f"{pairs_file}: header promises {folds} folds x {2 * per_class} pairs = "
            f"{folds * 2 * per_class} lines, found {len(body)}"
        )
    root = images_root if images_root is not None else locate_lfw_images(pairs_file.parent, body)
    pairs = []
    for index, fields in enumerate(body):
        fold = index // (2 * per_class)
        try:
            if len(fields) == 3:
                name, i, j = fields[0], int(fields[1]), int(fields[2])
                a, b = (name, i), (name, j)
            elif len(fields) == 4:
                a, b = (fields[0], int(fields[1])), (fields[2], int(fields[3]))
            else:
                raise ValueError
        except ValueError:
            raise SrpipeError(
                f"{pairs_file}: line {index + 2} {' '.join(fields)!r} is neither "
                "'name i j' nor 'name1 i name2 j'"
            ) from None
        pairs.append(PairSpec(lfw_image_path(root, *a), a[0], lfw_image_path(root, *b), b[0], fold))
    return pairs


def locate_lfw_images(base: Path, body: Sequence[Sequence[str]]) -> Path:
    """The folder holding ``<name>/<name>_0001.jpg`` next to a pairs file."""
    name, number = body[0][0], int(body[0][1])
    for sub in LFW_IMAGE_DIRS:
        root = (base / sub).resolve()
        if lfw_image_path(root, name, number).is_file():
            return root
    raise SrpipeError(
        f"cannot find LFW images for pairs in {base}: expected {name}/{name}_{number:04d}.jpg "
        f"under one of {', '.join(LFW_IMAGE_DIRS)}"
    )


def folder_pairs(root: Path, max_genuine_per_identity: int = 50, seed: int = 0) -> list[PairSpec]:
    """Pairs for an ``identity/image`` folder: genuine pairs within each identity (at most
    ``max_genuine_per_identity``, spread over its images), as many impostor pairs drawn
    with a fixed seed, and both dealt round-robin into 10 folds after a seeded shuffle.

    Folds are not identity-disjoint (with few identities they cannot be); LFW's are.
    """
    people = identity_folders(root)
    if len(people) < 2:
        raise SrpipeError(
            f"{root} needs at least 2 identity folders (DIR/<name>/<image>.jpg) to form "
            f"verification pairs; found {len(people)}"
        )
    rng = np.random.default_rng(seed)
    genuine: list[tuple[Path, str, Path, str]] = []
    for name, images in people.items():
        combos = [(a, b) for i, a in enumerate(images) for b in images[i + 1 :]]
        if len(combos) > max_genuine_per_identity:
            keep = np.sort(rng.choice(len(combos), max_genuine_per_identity, replace=False))
            combos = [combos[k] for k in keep]
        genuine.extend((a, name, b, name) for a, b in combos)
    names = list(people)
    impostor: list[tuple[Path, str, Path, str]] = []
    seen: set[tuple[Path, Path]] = set()
    wanted = max(len(genuine), len(names))
    attempts = 0
    while len(impostor) < wanted and attempts < 50 * wanted:
        attempts += 1
        i, j = rng.choice(len(names), 2, replace=False)
        a = people[names[i]][int(rng.integers(len(people[names[i]])))]
        b = people[names[j]][int(rng.integers(len(people[names[j]])))]
        if (a, b) in seen:
            continue
        seen.add((a, b))
        impostor.append((a, names[i], b, names[j]))
    pairs = genuine + impostor
    order = rng.permutation(len(pairs))
    return [
        PairSpec(pairs[k][0], pairs[k][1], pairs[k][2], pairs[k][3], rank % 10)
        for rank, k in enumerate(order)
    ]


def interleave(pairs: Sequence[PairSpec]) -> list[PairSpec]:
    """Reorder pairs round-robin over (fold, genuine/impostor), so that any prefix (what
    ``--limit N`` keeps) is balanced and spans the folds. Metrics do not depend on order."""
    buckets: dict[tuple[int, bool], list[PairSpec]] = {}
    for pair in pairs:
        buckets.setdefault((pair.fold, pair.same), []).append(pair)
    queues = [buckets[key] for key in sorted(buckets, key=lambda k: (k[0], not k[1]))]
    out: list[PairSpec] = []
    for rank in range(max((len(q) for q in queues), default=0)):
        out.extend(q[rank] for q in queues if rank < len(q))
    return out


def dataset_key(pairs: Sequence[PairSpec]) -> str:
    """A short digest of the pair list (names the dataset in reports)."""
    digest = hashlib.sha1()
    for p in pairs:
        digest.update(f"{p.probe}|{p.gallery}|{p.fold}\n".encode())
    return digest.hexdigest()[:10]
