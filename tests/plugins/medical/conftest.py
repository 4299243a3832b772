"""Fixtures for the medical plugin: pydicom's packaged test files and the plugin loaded."""

from __future__ import annotations

import importlib

import pytest

# one line when the medical extra is missing (pip install 'srpipe[medical]')
pydicom = pytest.importorskip("pydicom", reason="pydicom not installed (srpipe[medical])")


@pytest.fixture
def medical_loaded(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Make sure the ``medical`` entry point is visible (an older editable install lacks it)."""
    from srpipe.plugins import get_plugin_manager, reset_plugin_manager

    installed = "medical" in get_plugin_manager().tasks()
    if not installed:
        from tests.conftest import make_distribution

        entry = {"medical": "srpipe_medical.plugin"}
        root = make_distribution(tmp_path_factory.mktemp("ep"), "srpipe-medical-ep", {}, entry)
        monkeypatch.syspath_prepend(str(root))
        importlib.invalidate_caches()
        reset_plugin_manager()
    yield
    if not installed:
        reset_plugin_manager()  # rebuilt without the temporary entry point
