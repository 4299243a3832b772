"""The plugin manager: built-ins through the same path, isolation of broken plugins, controls."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from srpipe.errors import UsageError
from srpipe.plugins import (
    BUILTIN_PLUGINS,
    add_plugins,
    block_plugins,
    get_plugin_manager,
    reset_plugin_manager,
)

GOOD = """
from srpipe import hookimpl
from srpipe.task import Task

class Echo(Task):
    name = "echo"
    summary = "returns its input"
    def predict(self, images):
        return list(images)

@hookimpl
def srpipe_register_tasks():
    return [Echo]
"""

MISSPELLED = """
from srpipe import hookimpl

@hookimpl
def srpipe_register_taks():
    return []
"""

BROKEN_IMPORT = """
import module_that_does_not_exist_anywhere
"""


def test_shipped_task_plugins_are_entry_points() -> None:
    records = get_plugin_manager().records
    for name in ("detect", "faces", "video"):
        assert name in records, f"{name} plugin not found via entry points"
        assert records[name].source.startswith("entry point")
        assert records[name].error is None


def test_builtins_register_through_the_same_hooks() -> None:
    manager = get_plugin_manager()
    builtin = [r for r in manager.records.values() if r.source == "builtin"]
    assert builtin, "no built-in plugins registered"
    for record in builtin:
        assert record.module in BUILTIN_PLUGINS
        plugin = manager.get_plugin(record.name)
        assert plugin is not None
        # registered via pluggy like any plugin: its hooks are listed from its callers
        assert all(h.startswith("srpipe_") for h in record.hooks)


def test_third_party_task_is_registered(third_party) -> None:
    third_party("tp-good", {"tp_good": GOOD}, {"echo": "tp_good"})
    from srpipe.plugins import get_plugin_manager

    manager = get_plugin_manager()
    assert manager.records["echo"].error is None
    assert manager.records["echo"].hooks == ["srpipe_register_tasks"]
    assert "echo" in get_plugin_manager().tasks()


def test_misspelled_hook_is_reported_not_fatal(third_party) -> None:
    third_party(
        "tp-typo", {"tp_typo": MISSPELLED, "tp_good": GOOD}, {"typo": "tp_typo", "echo": "tp_good"}
    )
    manager = get_plugin_manager()
    assert "srpipe_register_taks" in manager.records["typo"].error
    assert manager.get_plugin("typo") is None  # unregistered, so check_pending stays clean
    manager.check_pending()
    assert manager.records["echo"].error is None


def test_import_error_is_reported_not_fatal(third_party) -> None:
    third_party(
        "tp-broken",
        {"tp_broken": BROKEN_IMPORT, "tp_good": GOOD},
        {"broken": "tp_broken", "echo": "tp_good"},
    )
    manager = get_plugin_manager()
    assert "module_that_does_not_exist_anywhere" in manager.records["broken"].error
    assert manager.records["echo"].error is None


def test_allowlist(third_party, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRPIPE_PLUGINS", "echo")
    third_party("tp-good", {"tp_good": GOOD}, {"echo": "tp_good"})
    records = get_plugin_manager().records
    assert records["echo"].blocked is False
    assert records["detect"].blocked is True
    assert get_plugin_manager().get_plugin("detect") is None


def test_disable_autoload(third_party, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRPIPE_DISABLE_PLUGIN_AUTOLOAD", "1")
    third_party("tp-good", {"tp_good": GOOD}, {"echo": "tp_good"})
    records = get_plugin_manager().records
    assert "echo" not in records
    assert all(r.source == "builtin" for r in records.values())


def test_block_by_name(third_party) -> None:
    third_party("tp-good", {"tp_good": GOOD}, {"echo": "tp_good"})
    block_plugins(["echo"])
    manager = get_plugin_manager()
    assert manager.records["echo"].blocked
    assert manager.get_plugin("echo") is None


@pytest.fixture
def clean_manager():
    """Rebuild the manager after a test that loads plugins from files."""
    reset_plugin_manager()
    before = set(sys.modules)
    yield
    for module in set(sys.modules) - before:
        if module.startswith("lp_"):
            del sys.modules[module]
    reset_plugin_manager()


def test_dash_p_loads_a_file_that_is_not_installed(tmp_path: Path, clean_manager) -> None:
    (tmp_path / "lp_echo.py").write_text(GOOD)
    add_plugins([str(tmp_path / "lp_echo.py")])
    manager = get_plugin_manager()
    assert manager.records["lp_echo"].source.startswith("-p (")
    assert manager.records["lp_echo"].hooks == ["srpipe_register_tasks"]
    assert "echo" in manager.tasks()


def test_dash_p_loads_even_with_autoload_disabled(
    tmp_path: Path, clean_manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRPIPE_DISABLE_PLUGIN_AUTOLOAD", "1")
    (tmp_path / "lp_echo.py").write_text(GOOD)
    add_plugins([str(tmp_path / "lp_echo.py")])
    assert set(get_plugin_manager().tasks()) == {"sr", "echo"}


def test_plugins_dir_loads_every_file(
    tmp_path: Path, clean_manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "lp_echo.py").write_text(GOOD)
    (folder / "_lp_private.py").write_text(BROKEN_IMPORT)  # underscore: not a plugin
    monkeypatch.setenv("SRPIPE_PLUGINS_DIR", str(folder))
    manager = get_plugin_manager()
    assert manager.records["lp_echo"].source.startswith("plugins dir")
    assert "echo" in manager.tasks()


def test_a_broken_file_in_a_plugins_dir_is_listed_and_the_others_load(
    tmp_path: Path, clean_manager, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """As with a broken entry point: `srpipe plugins` shows it with its error, the rest work."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "lp_echo.py").write_text(GOOD)
    (folder / "lp_broken.py").write_text(BROKEN_IMPORT)
    (folder / "lp_typo.py").write_text(MISSPELLED)
    monkeypatch.setenv("SRPIPE_PLUGINS_DIR", str(folder))
    manager = get_plugin_manager()
    assert "echo" in manager.tasks()
    assert "failed to import" in manager.records["lp_broken"].error
    assert "srpipe_register_taks" in manager.records["lp_typo"].error
    err = capsys.readouterr().err
    assert "lp_broken.py" in err and "lp_typo.py" in err


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (BROKEN_IMPORT, "failed to import"),
        (MISSPELLED, "srpipe_register_taks"),
    ],
)
def test_a_plugin_asked_for_must_load(
    tmp_path: Path, clean_manager, source: str, message: str
) -> None:
    (tmp_path / "lp_bad.py").write_text(source)
    add_plugins([str(tmp_path / "lp_bad.py")])
    with pytest.raises(UsageError, match=message):
        get_plugin_manager()


def test_missing_plugin_file_and_module(tmp_path: Path, clean_manager) -> None:
    add_plugins([str(tmp_path / "nowhere.py")])
    with pytest.raises(UsageError, match="not found"):
        get_plugin_manager()
    reset_plugin_manager()
    add_plugins(["lp_no_such_module"])
    with pytest.raises(UsageError, match="cannot import plugin"):
        get_plugin_manager()
