"""Entry point of the srpipe_action plugin: the hooks srpipe calls.

* ``srpipe_register_tasks``: the ``action`` task (``srpipe run action``, ``srpipe eval action``);
* ``srpipe_register_datasets``: its readers (UCF101/HMDB51 folders, Kinetics-style CSVs,
  folders of unlabeled clips);
* ``srpipe_register_sources``: the packaged stills and clips the camera-motion set is cut from,
  each in its one role (train / validation fit and select the bundled classifier, test is
  ``eval action``'s default set);
* ``action_register_classifiers`` (this plugin's own hook): the bundled ``camera-motion``
  classifier, registered like a third party's.

Loading it stays light: torch and torchvision are imported when a classifier is built.
"""

from __future__ import annotations

from typing import Any

from srpipe.data.sources import Source
from srpipe.hookspecs import hookimpl
from srpipe.task import DatasetReader, Task
from srpipe_action import hookspecs
from srpipe_action.camera_motion import declared_sources
from srpipe_action.classifier_spec import ClassifierSpec
from srpipe_action.datasets import ClassFolderReader, KineticsCsvReader, UnlabeledClipsReader
from srpipe_action.motion_classifier import motion_spec
from srpipe_action.task import ActionTask


@hookimpl
def srpipe_add_hookspecs(pluginmanager: Any) -> None:
    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def srpipe_register_tasks() -> list[type[Task]]:
    """The action task: a video classifier on HR, baseline and SR frames."""
    return [ActionTask]


@hookimpl
def srpipe_register_datasets() -> list[DatasetReader]:
    """Readers of the action data layouts, most specific first."""
    return [KineticsCsvReader(), ClassFolderReader(), UnlabeledClipsReader()]


@hookimpl
def srpipe_register_sources() -> list[Source]:
    """The camera-motion set's stills and clips (``camera_motion.SPLIT_SOURCES``)."""
    return declared_sources()


@hookimpl
def action_register_classifiers() -> list[ClassifierSpec]:
    """The bundled camera-motion (2+1)D CNN, the offline default classifier."""
    return [motion_spec()]
