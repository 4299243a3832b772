"""Box datasets for ``srpipe eval detect``: YOLO (data.yaml + labels) and COCO json.

Both readers return HR :class:`~srpipe.task.Item` s whose ``target`` is
``{"boxes": (N, 4) float32 xyxy in pixels, "classes": (N,) int64}`` and whose
``meta["names"]`` maps class ids to names (the task matches detector classes by name).

Bad input fails early with one line saying what and where: a data.yaml without a split
or pointing at a missing folder, a label with a class out of range or coordinates outside
the image, a COCO annotation with an unknown category. An *unreadable image* does not stop
the load: it is skipped, listed in ``dataset.meta["skipped"]`` and reported on stderr, so
one corrupt file in a thousand does not cost the whole evaluation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import yaml

from srpipe.errors import SrpipeError
from srpipe.image.io import header_size, read_image
from srpipe.task import Dataset, DatasetReader, Item

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: tolerance for normalised coordinates slightly outside [0, 1] (rounding in exporters)
_COORD_TOLERANCE = 0.01


def _report_skipped(name: str, skipped: list[dict[str, str]]) -> None:
    if skipped:
        listed = ", ".join(f"{s['image']} ({s['error']})" for s in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        print(
            f"warning: {name}: skipped {len(skipped)} unreadable image(s): {listed}{more}",
            file=sys.stderr,
        )


def _size(path: Path, skipped: list[dict[str, str]]) -> tuple[int, int] | None:
    """(width, height) of an image from its header (decoded here only when the header does
    not say, to skip an unreadable file); the pixels are decoded when the item is scored."""

    size = header_size(path)
    if size is not None:
        return size
    try:
        image = read_image(path)
    except SrpipeError as exc:
        skipped.append({"image": path.name, "error": str(exc)})
        return None
    return image.shape[1], image.shape[0]


def _for_task(task: Any, dataset: Dataset) -> Dataset:
    """Let the task configure itself from the set (the detect task: its default detector)."""
    task.use_dataset(dataset)
    return dataset


class YoloReader(DatasetReader):
    """Ultralytics/YOLO format: ``data.yaml`` with ``path``, ``train``/``val``/``test``, ``names``.

    A split is a folder of images (labels in the sibling folder where the last ``images``
    path component becomes ``labels``), a ``.txt`` list of image paths, or a list of either.
    Label lines are ``class cx cy w h`` normalised to [0, 1]; polygon lines (segmentation
    labels) are reduced to their bounding box, as ultralytics does.
    """

    task: ClassVar[str] = "detect"
    format: ClassVar[str] = "yolo"

    def can_read(self, path: Path) -> bool:
        """A ``.yaml`` file, or a folder holding ``data.yaml``."""
        path = Path(path)
        return path.suffix in (".yaml", ".yml") or (path / "data.yaml").is_file()

    def read(self, path: Path, task: Any) -> Dataset:
        """The validation split of the dataset described by ``path``."""
        return _for_task(task, self.load(path, split="val"))

    def load(self, path: Path, split: str = "val") -> Dataset:
        """Load ``split`` (default val) of the dataset described by ``path``."""
        path = Path(path)
        yaml_path = path / "data.yaml" if path.is_dir() else path
        config = self._config(yaml_path)
        names = self._names(config, yaml_path)
        root = Path(config.get("path") or yaml_path.parent)
        if not root.is_absolute():
            root = (yaml_path.parent / root).resolve()
        if not root.exists():  # a data.yaml moved together with its data: trust its folder
            root = yaml_path.parent
        if split not in config or not config[split]:
            have = [s for s in ("train", "val", "test") if config.get(s)]
            raise SrpipeError(
                f"{yaml_path}: no '{split}' split (has: {', '.join(have) or 'none'}); "
                f"add '{split}: images/{split}' to it"
            )
        images = self._images(config[split], root, yaml_path, split)
        groups = self._groups(root)
        items: list[Item] = []
        skipped: list[dict[str, str]] = []
        unlabelled: list[Path] = []
        for image_path in images:
            label_path = _label_path(image_path)
            if not label_path.is_file():
                unlabelled.append(label_path)
            size = _size(image_path, skipped)
            if size is None:
                continue
            boxes, classes = _parse_labels(label_path, len(names), *size)
            key = f"{split}/{image_path.name}"
            items.append(
                Item.from_file(
                    key,
                    image_path,
                    target={"boxes": boxes, "classes": classes},
                    group=groups.get(key),
                    meta={"names": names, "path": str(image_path)},
                    size=size,
                )
            )
        if not items:
            raise SrpipeError(f"{yaml_path}: no readable image in split '{split}'")
        _check_labels(yaml_path, split, images, unlabelled, items)
        _report_skipped(yaml_path.name, skipped)
        return Dataset(
            name=f"{yaml_path.parent.name}/{split}",
            items=items,
            description=f"YOLO dataset {yaml_path} split {split}: {len(items)} images, "
            f"{sum(len(it.target['classes']) for it in items)} boxes, {len(names)} classes",
            meta={
                "names": names,
                "format": "yolo",
                "skipped": skipped,
                **({"unlabelled": [str(p) for p in unlabelled]} if unlabelled else {}),
            },
        )

    @staticmethod
    def _config(yaml_path: Path) -> dict[str, Any]:

        if not yaml_path.is_file():
            raise SrpipeError(f"dataset file not found: {yaml_path}; give a YOLO data.yaml")
        try:
            config = yaml.safe_load(yaml_path.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            line = str(exc).splitlines()[0]
            raise SrpipeError(f"{yaml_path} is not valid YAML ({line}); fix the file") from None
        if not isinstance(config, dict):
            raise SrpipeError(f"{yaml_path} is not a YOLO data.yaml (expected a mapping)")
        return config

    @staticmethod
    def _names(config: dict[str, Any], yaml_path: Path) -> dict[int, str]:
        raw = config.get("names")
        if isinstance(raw, dict):
            names = {int(k): str(v) for k, v in raw.items()}
        elif isinstance(raw, list):
            names = {i: str(v) for i, v in enumerate(raw)}
        elif "nc" in config:
            names = {i: f"class{i}" for i in range(int(config["nc"]))}
        else:
            raise SrpipeError(f"{yaml_path}: no 'names' (class list); add 'names: [a, b, ...]'")
        if sorted(names) != list(range(len(names))):
            raise SrpipeError(f"{yaml_path}: class ids in 'names' must be 0..{len(names) - 1}")
        return names

    @staticmethod
    def _images(entry: Any, root: Path, yaml_path: Path, split: str) -> list[Path]:
        entries = entry if isinstance(entry, list) else [entry]
        images: list[Path] = []
        for e in entries:
            p = Path(str(e))
            p = p if p.is_absolute() else root / p
            if p.is_dir():
                images.extend(
                    sorted(f for f in p.rglob("*") if f.suffix.lower() in _IMAGE_SUFFIXES)
                )
            elif p.suffix == ".txt" and p.is_file():
                for line in p.read_text().splitlines():
                    if line.strip():
                        q = Path(line.strip())
                        images.append(q if q.is_absolute() else (p.parent / q).resolve())
            else:
                raise SrpipeError(
                    f"{yaml_path}: '{split}' points at {p}, which does not exist; fix the path "
                    "(relative paths start at 'path:' or the yaml's folder)"
                )
        if not images:
            raise SrpipeError(f"{yaml_path}: split '{split}' has no images")
        return images

    @staticmethod
    def _groups(root: Path) -> dict[str, str]:
        """Background source per image, from the synthetic set's manifest (if present)."""
        manifest = root / "manifest.json"
        if not manifest.is_file():
            return {}
        try:
            images = json.loads(manifest.read_text()).get("images", {})
            return {k: v["source"] for k, v in images.items() if "source" in v}
        except (ValueError, AttributeError, KeyError, TypeError):
            return {}  # a foreign manifest.json: no groups, not an error


def _check_labels(
    yaml_path: Path, split: str, images: list[Path], unlabelled: list[Path], items: list[Item]
) -> None:
    """Fail when no ground truth was found (mAP would be 0 for everything); warn on gaps.

    YOLO allows an image without a label file (a background image), so a few are normal;
    none at all means the labels were looked for in the wrong place.
    """
    if len(unlabelled) == len(images):
        raise SrpipeError(
            f"{yaml_path}: no label file for any of the {len(images)} '{split}' images "
            f"(looked for {unlabelled[0]} and the like); YOLO labels sit in a 'labels' folder "
            "beside 'images', one .txt per image"
        )
    if not any(len(it.target["classes"]) for it in items):
        raise SrpipeError(
            f"{yaml_path}: the '{split}' label files hold no boxes, so there is nothing to "
            "measure; check the labels"
        )
    if unlabelled:
        listed = "\n  ".join(str(p) for p in unlabelled)
        print(
            f"warning: {yaml_path.name}: {len(unlabelled)} of {len(images)} images have no "
            f"label file (scored as having no objects):\n  {listed}",
            file=sys.stderr,
        )


def _label_path(image_path: Path) -> Path:
    parts = list(image_path.parts)
    for i in range(len(parts) - 1, -1, -1):  # the last 'images' component, as ultralytics
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image_path.with_suffix(".txt")


def _parse_labels(path: Path, nc: int, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Read one YOLO label file into pixel xyxy boxes; a missing file means no objects."""
    if not path.is_file():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    boxes, classes = [], []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{lineno}"
        try:
            cls = int(float(fields[0]))
            values = [float(v) for v in fields[1:]]
        except ValueError:
            raise SrpipeError(
                f"{where}: not numbers: {line.strip()!r}; expected 'class cx cy w h'"
            ) from None
        if not 0 <= cls < nc:
            raise SrpipeError(
                f"{where}: class {cls} out of range 0-{nc - 1} (names in data.yaml); fix the label"
            )
        if len(values) == 4:
            cx, cy, bw, bh = values
            x1, y1, x2, y2 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
        elif len(values) >= 6 and len(values) % 2 == 0:  # polygon: its bounding box
            xs, ys = values[0::2], values[1::2]
            x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
        else:
            raise SrpipeError(f"{where}: {len(values) + 1} fields; expected 'class cx cy w h'")
        lo, hi = -_COORD_TOLERANCE, 1 + _COORD_TOLERANCE
        if not (lo <= x1 <= x2 <= hi and lo <= y1 <= y2 <= hi):
            raise SrpipeError(
                f"{where}: box outside the image (coordinates must be normalised to [0, 1])"
            )
        boxes.append([x1 * w, y1 * h, x2 * w, y2 * h])
        classes.append(cls)
    arr = np.asarray(boxes, np.float32).reshape(-1, 4)
    arr[:, [0, 2]] = arr[:, [0, 2]].clip(0, w)
    arr[:, [1, 3]] = arr[:, [1, 3]].clip(0, h)
    return arr, np.asarray(classes, np.int64)


class CocoReader(DatasetReader):
    """COCO detection json: ``images``, ``annotations`` (``bbox`` = x, y, w, h), ``categories``.

    Images are looked up relative to the json's folder, then in an ``images/`` folder
    beside it (or ``image_root``). Category ids become contiguous class ids in id order;
    crowd annotations are left out (COCO ignores them in AP).
    """

    task: ClassVar[str] = "detect"
    format: ClassVar[str] = "coco"

    def can_read(self, path: Path) -> bool:
        """A ``.json`` file."""
        return Path(path).suffix.lower() == ".json" and Path(path).is_file()

    def read(self, path: Path, task: Any) -> Dataset:
        """Every image of the json that has a readable file (beside the json)."""
        return _for_task(task, self.load(path))

    def load(self, path: Path, image_root: str | None = None) -> Dataset:
        """Load every image of the json that has a readable file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise SrpipeError(f"cannot read {path} as JSON ({exc}); give a COCO json") from None
        if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= set(data):
            raise SrpipeError(
                f"{path} is not a COCO detection file (needs images, annotations, categories)"
            )
        cats = sorted(data["categories"], key=lambda c: c["id"])
        cat_to_cls = {c["id"]: i for i, c in enumerate(cats)}
        names = {i: str(c.get("name", c["id"])) for i, c in enumerate(cats)}
        per_image: dict[Any, list[dict[str, Any]]] = {}
        for ann in data["annotations"]:
            if ann.get("category_id") not in cat_to_cls:
                raise SrpipeError(
                    f"{path}: annotation {ann.get('id')} has category_id "
                    f"{ann.get('category_id')} not in 'categories'; fix the json"
                )
            per_image.setdefault(ann.get("image_id"), []).append(ann)
        roots = [Path(image_root)] if image_root else [path.parent, path.parent / "images"]
        items: list[Item] = []
        skipped: list[dict[str, str]] = []
        for info in data["images"]:
            file_name = str(info.get("file_name", ""))
            candidates = [r / file_name for r in roots]
            image_path = next((c for c in candidates if c.is_file()), candidates[0])
            if not image_path.is_file():
                skipped.append({"image": file_name, "error": "file not found"})
                continue
            size = _size(image_path, skipped)
            if size is None:
                continue
            w, h = size
            boxes, classes = [], []
            for ann in per_image.get(info.get("id"), []):
                if ann.get("iscrowd", 0):
                    continue
                x, y, bw, bh = (float(v) for v in ann["bbox"])
                if bw <= 0 or bh <= 0 or x + bw > w + 1 or y + bh > h + 1 or x < -1 or y < -1:
                    raise SrpipeError(
                        f"{path}: annotation {ann.get('id')} bbox {ann['bbox']} lies outside "
                        f"image {file_name} ({w}x{h}); fix the json"
                    )
                boxes.append([x, y, x + bw, y + bh])
                classes.append(cat_to_cls[ann["category_id"]])
            items.append(
                Item.from_file(
                    file_name,
                    image_path,
                    target={
                        "boxes": np.asarray(boxes, np.float32).reshape(-1, 4),
                        "classes": np.asarray(classes, np.int64),
                    },
                    meta={"names": names, "path": str(image_path)},
                    size=size,
                )
            )
        if not items:
            raise SrpipeError(f"{path}: none of its {len(data['images'])} images could be read")
        _report_skipped(path.name, skipped)
        return Dataset(
            name=path.stem,
            items=items,
            description=f"COCO dataset {path}: {len(items)} images, {len(names)} classes",
            meta={"names": names, "format": "coco", "skipped": skipped},
        )
