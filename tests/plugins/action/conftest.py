"""Fixtures for the action plugin: the plugin and a tiny classifier registered, tiny clips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from action_clips import TinyClassifierPlugin, save_tiny_weights, ucf_folder

from srpipe.plugins import get_plugin_manager


@pytest.fixture
def action_plugins() -> Iterator[None]:
    """The action plugin (loaded by ``-p`` where its entry point is not installed) and the
    tiny test classifier, unregistered afterwards."""
    manager = get_plugin_manager()
    if "action" not in manager.tasks():
        manager.load_modules(["srpipe_action.plugin"], set())
    plugin = TinyClassifierPlugin()
    manager.register(plugin, name="tiny-classifier")
    yield
    manager.unregister(plugin)


@pytest.fixture(scope="session")
def ucf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two classes (Left, Right) x 2 groups x 2 clips of 10 frames at 10 fps."""
    return ucf_folder(tmp_path_factory.mktemp("ucf") / "UCF")


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_weights(tmp_path_factory.mktemp("weights") / "tiny.pth")
