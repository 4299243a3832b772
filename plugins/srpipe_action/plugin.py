"""Entry point of the srpipe_action plugin: the hooks srpipe calls.

* ``srpipe_register_tasks``: the ``action`` task (``srpipe run action``, ``srpipe eval action``);
* ``srpipe_register_datasets``: its readers (UCF101/HMDB51 folders, Kinetics-style CSVs,
  folders of unlabeled clips).

Loading it stays light: torch and torchvision are imported when a classifier is built.
"""

from __future__ import annotations

from srpipe.hookspecs import hookimpl
from srpipe.task import DatasetReader, Task
from srpipe_action.datasets import ClassFolderReader, KineticsCsvReader, UnlabeledClipsReader
from srpipe_action.task import ActionTask


@hookimpl
def srpipe_register_tasks() -> list[type[Task]]:
    """The action task: a video classifier on HR, baseline and SR frames."""
    return [ActionTask]


@hookimpl
def srpipe_register_datasets() -> list[DatasetReader]:
    """Readers of the action data layouts, most specific first."""
    return [KineticsCsvReader(), ClassFolderReader(), UnlabeledClipsReader()]
