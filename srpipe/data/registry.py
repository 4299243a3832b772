"""Known SR datasets: where to download them and where their images land in the cache.

``srpipe data fetch NAME`` downloads a dataset's archives into ``cache_dir()/datasets`` and
extracts them; afterwards ``--data NAME`` (or ``data.train: NAME`` in a training config)
resolves to the HR image folder through :func:`resolve_dataset`.

sha256 sums: we record one only where we have verified it. Where it is ``None`` the fetcher
says so and prints the sum of what it downloaded, so a user can pin it; we never invent one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from srpipe.environment import cache_dir
from srpipe.errors import SrpipeError

DIV2K_BASE = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
#: EDSR-PyTorch's benchmark bundle: Set5, Set14, B100, Urban100 with HR and LR_bicubic/X{2,3,4}
BENCHMARK_URL = "https://cv.snu.ac.kr/research/EDSR/benchmark.tar"


@dataclass(frozen=True)
class Archive:
    """One downloadable file."""

    url: str
    sha256: str | None = None  # None = not verified by us (see module docstring)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset: its archives and the HR folder (relative to the datasets root) they yield."""

    name: str
    title: str
    archives: tuple[Archive, ...]
    hr_dir: str
    lr_dir: str = ""  # with {scale}; "" = make LR with the protocol bicubic
    homepage: str = ""
    note: str = ""

    def hr_path(self, root: Path | None = None) -> Path:
        return (root or datasets_root()) / self.hr_dir


DATASETS: dict[str, DatasetInfo] = {
    "div2k": DatasetInfo(
        "div2k",
        "DIV2K train (800 HR images, 2K)",
        (Archive(DIV2K_BASE + "DIV2K_train_HR.zip"),),
        "DIV2K_train_HR",
        homepage="https://data.vision.ee.ethz.ch/cvl/DIV2K/",
        note="about 3.5 GB",
    ),
    "div2k-valid": DatasetInfo(
        "div2k-valid",
        "DIV2K validation (100 HR images, 2K)",
        (Archive(DIV2K_BASE + "DIV2K_valid_HR.zip"),),
        "DIV2K_valid_HR",
        homepage="https://data.vision.ee.ethz.ch/cvl/DIV2K/",
        note="about 450 MB",
    ),
    "set5": DatasetInfo(
        "set5",
        "Set5 (5 images)",
        (Archive(BENCHMARK_URL),),
        "benchmark/Set5/HR",
        "benchmark/Set5/LR_bicubic/X{scale}",
        homepage="https://github.com/sanghyun-son/EDSR-PyTorch",
        note="EDSR-PyTorch's benchmark.tar (Set5, Set14, B100, Urban100), about 200 MB",
    ),
    "set14": DatasetInfo(
        "set14",
        "Set14 (14 images)",
        (Archive(BENCHMARK_URL),),
        "benchmark/Set14/HR",
        "benchmark/Set14/LR_bicubic/X{scale}",
        homepage="https://github.com/sanghyun-son/EDSR-PyTorch",
    ),
    "b100": DatasetInfo(
        "b100",
        "B100 (100 BSD images)",
        (Archive(BENCHMARK_URL),),
        "benchmark/B100/HR",
        "benchmark/B100/LR_bicubic/X{scale}",
        homepage="https://github.com/sanghyun-son/EDSR-PyTorch",
    ),
    "urban100": DatasetInfo(
        "urban100",
        "Urban100 (100 urban scenes)",
        (Archive(BENCHMARK_URL),),
        "benchmark/Urban100/HR",
        "benchmark/Urban100/LR_bicubic/X{scale}",
        homepage="https://github.com/sanghyun-son/EDSR-PyTorch",
    ),
    "manga109": DatasetInfo(
        "manga109",
        "Manga109 (109 manga volumes' covers/pages)",
        (),  # distributed on request only: no public URL to fetch
        "Manga109/HR",
        homepage="http://www.manga109.org/en/download.html",
        note="distributed on request by its authors; no public download URL",
    ),
}


def datasets_root() -> Path:
    """Where fetched datasets live: ``cache_dir()/datasets``."""
    return cache_dir() / "datasets"


def get_dataset(name: str) -> DatasetInfo:
    """Look a dataset up by name (case-insensitive); the error lists the known ones."""
    key = name.lower()
    if key not in DATASETS:
        raise SrpipeError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}, or a folder")
    return DATASETS[key]


def resolve_dataset(name: str, *, lr_scale: int | None = None, root: Path | None = None) -> Path:
    """The HR folder (or LR folder at ``lr_scale``) of a fetched dataset.

    Raises a one-line error saying how to fetch it or point at a local copy.
    """
    info = get_dataset(name)
    base = root or datasets_root()
    if lr_scale is not None:
        if not info.lr_dir:
            raise SrpipeError(f"{info.name} ships no LR images; srpipe makes them with bicubic")
        path = base / info.lr_dir.format(scale=lr_scale)
    else:
        path = base / info.hr_dir
    if not path.is_dir():
        how = (
            f"run `srpipe data fetch {info.name}`"
            if info.archives
            else f"get it from {info.homepage} and extract it to {base / info.hr_dir}"
        )
        raise SrpipeError(
            f"dataset {info.name} not found at {path}; {how}, or pass a folder of images instead"
        )
    return path
