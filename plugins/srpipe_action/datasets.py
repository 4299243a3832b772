"""The data layouts ``srpipe eval action --data`` reads, and their frames as harness items.

* a **UCF101 / HMDB51-style folder**: ``Class/clip.avi``; with the official split files
  (UCF101's ``testlist0N.txt``, HMDB51's ``<class>_test_splitN.txt``, in the folder, beside
  it or in ``ucfTrainTestlist/`` / ``testTrainMulti_7030_splits/``) only the test clips of
  ``--split N`` are read;
* a **Kinetics-style CSV** of local clips: ``label,youtube_id,time_start,time_end[,split]``
  (clips named ``<youtube_id>_<start:06d>_<end:06d>.<ext>`` anywhere below the CSV's
  folder) or ``label,path`` (paths relative to the CSV);
* a **folder of unlabeled clips**: measured by agreement with the HR predictions.

Independent clusters follow the data's real dependence: UCF101's clips ``v_<Class>_gNN_cMM``
of one class and group are cut from one long video, so they form one cluster (group numbers
repeat across classes without relation); a Kinetics clip's cluster is its YouTube video;
anything else is its own cluster.

Each video gives ``clips_per_video`` windows of the classifier's clip length at its frame rate
(:mod:`srpipe_action.sampling`); every frame of a window is one item, so SR runs per frame
through the engine and the bootstrap resamples whole clusters.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from srpipe_video.frames import FrameSequence, is_video_path

from srpipe.errors import SrpipeError
from srpipe.task import Dataset, DatasetReader, Item
from srpipe_action.sampling import clip_windows, frame_step

_UCF_NAME = re.compile(r"^v_(?P<cls>.+)_g(?P<group>\d+)_c(?P<clip>\d+)$")
_KINETICS_NAME = "{id}_{start:06d}_{end:06d}"


@dataclass(frozen=True)
class VideoEntry:
    """One video of a set: where it is, its id, its class (None: unlabeled), its cluster."""

    path: Path
    video: str
    label: str | None
    cluster: str


def cluster_of(video: str) -> str:
    """The independent unit of a video: ``Class_gNN`` for UCF101 names, else the video."""
    match = _UCF_NAME.match(video.rsplit("/", 1)[-1])
    if match is None:
        return video
    return f"{match['cls']}_g{match['group']}"


# -- layouts -> entries --------------------------------------------------------------------
def class_folder_entries(root: Path, split: int = 1) -> tuple[list[VideoEntry], str]:
    """Videos of a ``Class/clip.avi`` folder, the test list of ``split`` when present."""
    entries = [
        VideoEntry(p, video, p.parent.name, cluster_of(video))
        for p in sorted(root.glob("*/*"))
        if p.is_file() and is_video_path(p)
        for video in [f"{p.parent.name}/{p.stem}"]
    ]
    chosen = _ucf_test_list(root, split) or _hmdb_test_list(root, split)
    if chosen is None:
        return entries, "every clip (no official split files found)"
    kept = [e for e in entries if e.path.name in chosen[0]]
    if not kept:
        raise SrpipeError(
            f"{chosen[1]} names none of the clips under {root}; check --data and --split"
        )
    return kept, f"the test clips of {chosen[1]}"


def _split_folders(root: Path) -> list[Path]:
    names = ("ucfTrainTestlist", "testTrainMulti_7030_splits")
    return [root, *(root / n for n in names), *(root.parent / n for n in names)]


def _ucf_test_list(root: Path, split: int) -> tuple[set[str], str] | None:
    for folder in _split_folders(root):
        path = folder / f"testlist{split:02d}.txt"
        if path.is_file():
            names = {Path(line.split()[0]).name for line in _lines(path)}
            return names, path.name
    return None


def _hmdb_test_list(root: Path, split: int) -> tuple[set[str], str] | None:
    for folder in _split_folders(root):
        files = sorted(folder.glob(f"*_test_split{split}.txt")) if folder.is_dir() else []
        if files:
            # HMDB51: "clip.avi 1|2|0" per line; 2 marks the test clips of the split
            names = {
                parts[0]
                for path in files
                for parts in (line.split() for line in _lines(path))
                if len(parts) >= 2 and parts[1] == "2"
            }
            return names, f"HMDB51 split {split}"
    return None


def kinetics_csv_entries(path: Path) -> tuple[list[VideoEntry], str]:
    """Clips a Kinetics-style CSV lists that exist locally (the rest are counted, not read)."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "label" not in rows[0]:
        raise SrpipeError(f"{path.name} has no 'label' column; see `srpipe eval action --help`")
    local = {p.stem: p for p in path.parent.rglob("*") if p.is_file() and is_video_path(p)}
    entries, missing = [], 0
    for row in rows:
        if row.get("path"):
            clip = path.parent / row["path"]
            video, cluster = clip.stem, clip.stem
        elif row.get("youtube_id"):
            video = _KINETICS_NAME.format(
                id=row["youtube_id"],
                start=int(float(row.get("time_start") or 0)),
                end=int(float(row.get("time_end") or 0)),
            )
            clip, cluster = local.get(video, path.parent / video), row["youtube_id"]
        else:
            raise SrpipeError(f"{path.name}: a row has neither 'path' nor 'youtube_id'")
        if not clip.is_file():
            missing += 1
            continue
        entries.append(VideoEntry(clip, video, row["label"].strip(), cluster))
    if not entries:
        raise SrpipeError(f"none of the {len(rows)} clips {path.name} lists is present locally")
    note = f"{len(entries)} of {len(rows)} listed clips" + (
        f" ({missing} not present locally)" if missing else ""
    )
    return entries, note


def unlabeled_entries(root: Path) -> tuple[list[VideoEntry], str]:
    """Every video file directly in ``root``, without labels."""
    videos = sorted(p for p in root.iterdir() if p.is_file() and is_video_path(p))
    if not videos:
        raise SrpipeError(f"{root} holds no video files; check --data")
    return [VideoEntry(p, p.stem, None, cluster_of(p.stem)) for p in videos], "unlabeled clips"


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


# -- entries -> items -----------------------------------------------------------------------
def limit_entries(entries: list[VideoEntry], videos: int) -> list[VideoEntry]:
    """At most ``videos`` entries, taken from each class in turn (the first of each first)."""
    by_class: dict[str | None, list[VideoEntry]] = defaultdict(list)
    for entry in entries:
        by_class[entry.label].append(entry)
    queues = [by_class[k] for k in sorted(by_class, key=lambda k: (k is None, k or ""))]
    chosen: list[VideoEntry] = []
    while len(chosen) < videos and any(queues):
        for queue in queues:
            if queue and len(chosen) < videos:
                chosen.append(queue.pop(0))
    return [e for e in entries if e in chosen]


def frame_items(
    entries: list[VideoEntry], clip_length: int, frame_rate: float, clips_per_video: int
) -> list[Item]:
    """Every frame of every window as an :class:`Item`, clusters contiguous, windows in order."""
    items: list[Item] = []
    for entry in sorted(entries, key=lambda e: (e.cluster, e.video)):
        sequence = FrameSequence(entry.path)
        step = frame_step(sequence.source_fps, frame_rate)
        windows = clip_windows(sequence.total_frames, clip_length, step, clips_per_video)
        wanted = {i for window in windows for i in window}
        frames = {f.index: f for f in sequence if f.index in wanted}
        for w, window in enumerate(windows):
            previous_id = None
            for k, index in enumerate(window):
                frame = frames.get(index) or frames[max(i for i in frames if i <= index)]
                item_id = f"{entry.video}/w{w}/f{k:03d}"
                items.append(
                    Item(
                        id=item_id,
                        image=frame.image,
                        target=entry.label,
                        group=entry.cluster,
                        meta={
                            "video": entry.video,
                            "window": w,
                            "frame": k,
                            "frames": clip_length,
                            "source_frame": frame.index,
                            "timestamp": frame.timestamp,
                            "previous_id": previous_id,
                            "stratum": entry.label,
                        },
                    )
                )
                previous_id = item_id
    return items


# -- readers --------------------------------------------------------------------------------
class ClipTask(Protocol):
    """What a reader needs of the set-up action task (kept structural: no import of it)."""

    split: int

    def dataset_of(
        self, entries: list[VideoEntry], name: str, what: str, classes: list[str]
    ) -> Dataset: ...


class ClassFolderReader(DatasetReader):
    """UCF101 / HMDB51 layout: ``Class/clip.avi`` (official test split when its files exist)."""

    task: ClassVar[str] = "action"
    format: ClassVar[str] = "ucf101"

    def can_read(self, path: Path) -> bool:
        return path.is_dir() and any(p.is_file() and is_video_path(p) for p in path.glob("*/*"))

    def read(self, path: Path, task: ClipTask) -> Dataset:  # type: ignore[override]
        entries, what = class_folder_entries(path, task.split)
        return task.dataset_of(entries, path.name, what, _folder_classes(path, entries))


class KineticsCsvReader(DatasetReader):
    """A Kinetics-style CSV of clips stored locally."""

    task: ClassVar[str] = "action"
    format: ClassVar[str] = "kinetics-csv"

    def can_read(self, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() == ".csv"

    def read(self, path: Path, task: ClipTask) -> Dataset:  # type: ignore[override]
        entries, what = kinetics_csv_entries(path)
        classes = sorted({e.label for e in entries if e.label is not None})
        return task.dataset_of(entries, path.stem, what, classes)


class UnlabeledClipsReader(DatasetReader):
    """A folder of video files without labels: agreement with the HR predictions only."""

    task: ClassVar[str] = "action"
    format: ClassVar[str] = "clips"

    def can_read(self, path: Path) -> bool:
        return path.is_dir() and any(p.is_file() and is_video_path(p) for p in path.iterdir())

    def read(self, path: Path, task: ClipTask) -> Dataset:  # type: ignore[override]
        entries, what = unlabeled_entries(path)
        return task.dataset_of(entries, path.name, what, [])


def _folder_classes(root: Path, entries: list[VideoEntry]) -> list[str]:
    """Class names in the order of UCF's ``classInd.txt`` when present, else sorted."""
    for folder in _split_folders(root):
        index = folder / "classInd.txt"
        if index.is_file():
            return [line.split()[-1] for line in _lines(index)]
    return sorted({e.label for e in entries if e.label is not None})
