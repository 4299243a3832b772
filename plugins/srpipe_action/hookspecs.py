"""The action plugin's own hook: other plugins add video classifiers through it.

It is apart from :mod:`srpipe.hookspecs` because only the action task calls it; its name has
no ``srpipe_`` prefix, so a plugin that implements it loads even where this plugin is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from srpipe.hookspecs import hookspec

if TYPE_CHECKING:
    from srpipe_action.classifier_spec import ClassifierSpec


@hookspec
def action_register_classifiers() -> Sequence[ClassifierSpec]:
    """Return video classifiers for ``--classifier NAME`` of ``srpipe run/eval action``.

    Each :class:`~srpipe_action.classifier_spec.ClassifierSpec` builds its network for N classes
    and states its clip length, frame rate, resize/crop and normalisation. A name that clashes
    with torchvision's or an earlier plugin's is ignored.
    """
