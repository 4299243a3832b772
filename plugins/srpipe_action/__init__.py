"""srpipe_action: video action recognition as an srpipe task (``srpipe run/eval action``).

Registered through the ``srpipe`` entry-point group (``srpipe_action.plugin``). Modules:
:mod:`~srpipe_action.task` (the task), :mod:`~srpipe_action.classifiers` (torchvision's video
models and plugin-added ones), :mod:`~srpipe_action.datasets` (UCF101/HMDB51 folders,
Kinetics CSVs, unlabeled clips), :mod:`~srpipe_action.sampling` (which frames make a clip),
:mod:`~srpipe_action.metrics` (accuracy and agreement with HR).
"""
