"""Entry point of the srpipe_faces plugin: the hooks srpipe calls."""

from __future__ import annotations
