"""Entry point of the srpipe_detect plugin: the hooks srpipe calls.

Heavy modules (ultralytics, torch, cv2) are imported only inside the task's methods, so
registering this plugin keeps ``srpipe --help`` fast.
"""

from __future__ import annotations

from typing import Any

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
