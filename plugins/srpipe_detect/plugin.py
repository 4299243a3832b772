"""Entry point of the srpipe_detect plugin: the hooks srpipe calls."""

from __future__ import annotations
