"""srpipe_video: video frame sequences for every srpipe task.

Registered through the ``srpipe`` entry-point group (``srpipe_video.plugin``). Public API:

* :class:`FrameSequence` / :class:`Frame`: read a video, an image folder or a glob;
* :class:`FrameWriter`: write frames back (H.264 via PyAV, audio kept, atomic, partial on abort);
* :class:`TemporalConsistency`: optical-flow warping error between consecutive frames.

Names are resolved lazily so that loading the plugin stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Frame": "srpipe_video.frames",
    "FrameSequence": "srpipe_video.frames",
    "FrameWriter": "srpipe_video.writer",
    "TemporalConsistency": "srpipe_video.temporal",
    "warping_error": "srpipe_video.temporal",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'srpipe_video' has no attribute {name!r}")

    return getattr(importlib.import_module(module), name)
