"""`ClassifierSpec`: what the action task must know about a video classifier, torch-free.

It is apart from :mod:`srpipe_action.classifiers` (which builds and runs classifiers with
torch) so that the plugin hook that returns specs (:mod:`srpipe_action.hookspecs`) and the
loader share the type without importing each other, as ``srpipe.models.spec`` does for SR
models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ClassifierSpec:
    """How to build, feed and load one video classifier.

    ``resize`` is ``(h, w)`` for an exact size or ``(short_side,)`` to keep the aspect ratio
    (torchvision's convention); frames are then centre-cropped to ``crop`` ``(h, w)``.
    ``build(num_classes)`` returns the network (a ``torch.nn.Module`` taking ``(N, C, T, H, W)``
    and returning logits); ``pretrained()``, when given, returns the published state dict
    (it may download) or raises.
    """

    name: str
    build: Callable[[int], Any]
    clip_length: int
    frame_rate: float
    resize: tuple[int, ...]
    crop: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    #: the classes the published weights predict, in output order (Kinetics-400 here)
    categories: tuple[str, ...] = ()
    #: state-dict key of the output layer's weight (its first dimension is the class count)
    head: str = ""
    pretrained: Callable[[], dict[str, Any]] | None = None
    summary: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
