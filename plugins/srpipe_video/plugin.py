"""Entry point of the srpipe_video plugin: the hooks srpipe calls."""

from __future__ import annotations
