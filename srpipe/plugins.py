"""Build the plugin manager: built-ins first, then entry points, then a contract check.

The core's own models and tasks are plain modules registered here exactly like a third
party's plugin (the tox 4 / datasette pattern). Third-party plugins come from the
``srpipe`` entry-point group. Loading is defensive: a plugin that fails to import, or
implements a hook that does not exist (a misspelling), is unregistered and remembered
with its error, so ``srpipe plugins`` can show it and every other command keeps working.

Controls (as in pytest and datasette):

* ``SRPIPE_DISABLE_PLUGIN_AUTOLOAD=1`` : load no entry-point plugins at all;
* ``SRPIPE_PLUGINS=detect,faces``      : load only these entry-point plugins;
* ``srpipe -p no:NAME ...``            : block one plugin (built-in or entry point);
* ``srpipe -p my_task.py ...`` or ``-p pkg.module``: load a plugin that is not installed
  (a one-file task), as ``pytest -p`` does; loaded even with autoload disabled;
* ``srpipe --plugins-dir DIR ...`` / ``SRPIPE_PLUGINS_DIR=DIR``: load every ``*.py`` in DIR,
  as ``datasette --plugins-dir`` does.

A plugin asked for by name or path must load: a failure is an error, not a listed record,
because the user asked for it on this very command line.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from srpipe import hookspecs
from srpipe.errors import SrpipeError, UsageError
from srpipe.models.spec import ModelSpec
from srpipe.task import DatasetReader, Task
from srpipe.version import __version__

ENTRY_POINT_GROUP = "srpipe"

#: The core's own plugins, registered through the same path as external ones.
BUILTIN_PLUGINS: tuple[str, ...] = ("srpipe.models.zoo", "srpipe.tasks.image_quality")


@dataclass
class PluginRecord:
    """What ``srpipe plugins`` shows about one plugin."""

    name: str
    source: str  # "builtin" or "entry point (<distribution>)"
    version: str
    module: str
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    blocked: bool = False


class SrpipePluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers which plugins failed and why."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        # historic: each plugin registered from now on adds its own hook specifications first
        self.hook.srpipe_add_hookspecs.call_historic(kwargs={"pluginmanager": self})
        self.records: dict[str, PluginRecord] = {}

    # -- lookups: what the registered plugins provide -----------------------------------
    def tasks(self) -> dict[str, type[Task]]:
        """Every registered task class by name, in registration order."""
        tasks: dict[str, type[Task]] = {}
        for batch in self.hook.srpipe_register_tasks():
            for task_cls in batch or []:
                tasks.setdefault(task_cls.name, task_cls)
        return tasks

    def task(self, name: str) -> type[Task]:
        """Look a task up by name; the error lists the registered ones."""
        tasks = self.tasks()
        if name not in tasks:
            known = ", ".join(sorted(tasks)) or "none"
            raise UsageError(
                f"unknown task {name!r}; registered tasks: {known} (see `srpipe plugins`)"
            )
        return tasks[name]

    def readers(self, task_name: str) -> list[DatasetReader]:
        """Registered dataset readers that feed ``task_name``, in registration order."""
        readers: list[DatasetReader] = []
        for batch in self.hook.srpipe_register_datasets():
            readers.extend(r for r in batch or [] if r.task == task_name)
        return readers

    def models(self) -> dict[str, ModelSpec]:
        """Every registered model by name (aliases included), in registration order."""
        models: dict[str, ModelSpec] = {}
        for impl in self.hook.srpipe_register_models.get_hookimpls():
            plugin_name = self.get_name(impl.plugin) or "?"
            for spec in impl.function() or []:
                spec = dataclasses.replace(spec, plugin=plugin_name)
                for key in (spec.name, *spec.aliases):
                    models.setdefault(key, spec)
        return models

    def model(self, name: str) -> ModelSpec:
        """Look a model up by name or alias; the error lists what exists."""
        models = self.models()
        try:
            return models[name.lower()]
        except KeyError:
            known = ", ".join(sorted({spec.name for spec in models.values()}))
            raise SrpipeError(
                f"unknown SR model {name!r}; known: {known} (or give a checkpoint path)"
            ) from None

    # -- loading -----------------------------------------------------------------------
    def load_builtins(self, blocked: set[str]) -> None:
        for module_name in BUILTIN_PLUGINS:
            short = module_name.rsplit(".", 1)[-1]
            record = PluginRecord(short, "builtin", __version__, module_name)
            if short in blocked or module_name in blocked:
                record.blocked = True
                self.records[short] = record
                continue
            self._register_checked(importlib.import_module(module_name), record)

    def load_entry_points(self, blocked: set[str]) -> None:
        if os.environ.get("SRPIPE_DISABLE_PLUGIN_AUTOLOAD", "").strip() not in ("", "0"):
            return
        allow = _csv_env("SRPIPE_PLUGINS")
        for entry_point, dist in _entry_points():
            name = entry_point.name
            if name in self.records:  # the same distribution seen twice on sys.path
                continue
            record = PluginRecord(
                name,
                f"entry point ({dist.metadata['Name'] if dist else '?'})",
                dist.version if dist else "?",
                entry_point.value,
            )
            if name in blocked or (allow is not None and name not in allow):
                record.blocked = True
                self.records[name] = record
                continue
            try:
                module = entry_point.load()
            except Exception as exc:  # any import-time failure stays inside the plugin
                record.error = f"import failed: {type(exc).__name__}: {exc}"
                self.records[name] = record
                continue
            self._register_checked(module, record)

    def load_modules(self, specs: Iterable[str], blocked: set[str], source: str = "-p") -> None:
        """Load plugins that are not installed: module names or ``.py`` files."""
        for spec in specs:
            try:
                module = _import_plugin(spec)
            except UsageError as exc:
                if source == "-p":  # named on the command line: the user asked for this one
                    raise
                # one broken file in a plugins folder must not hide the others (as with a
                # broken entry point): listed by `srpipe plugins` with its error, said once
                name = Path(spec).stem
                record = PluginRecord(name, f"{source} ({spec})", "-", name, error=str(exc))
                self.records.setdefault(name, record)
                print(f"srpipe: skipped {exc}", file=sys.stderr)
                continue
            name = module.__name__
            if name in self.records:
                raise UsageError(
                    f"plugin {spec!r}: the name {name!r} is taken by "
                    f"{self.records[name].source}; rename the file or block the other "
                    f"with -p no:{name}"
                )
            version = str(getattr(module, "__version__", "-"))
            record = PluginRecord(name, f"{source} ({spec})", version, name)
            if name in blocked:
                record.blocked = True
                self.records[name] = record
                continue
            self._register_checked(module, record)
            if record.error and source == "-p":
                raise UsageError(f"plugin {spec!r}: {record.error}")
            if record.error:
                print(f"srpipe: skipped plugin file {spec}: {record.error}", file=sys.stderr)

    def _register_checked(self, module: ModuleType | object, record: PluginRecord) -> None:
        """Register, then validate the plugin alone, so one bad plugin cannot poison the rest."""
        try:
            self.register(module, name=record.name)
        except Exception as exc:
            record.error = f"registration failed: {exc}"
            self.records[record.name] = record
            return
        unknown = [
            hook.name
            for hook in self.get_hookcallers(module) or []
            if hook.spec is None and not _is_optional(hook.name)
        ]
        if unknown:
            self.unregister(module)
            record.error = "unknown hook(s): " + ", ".join(sorted(unknown)) + " (misspelled?)"
        else:
            record.hooks = sorted(
                hook.name for hook in self.get_hookcallers(module) or [] if hook.spec
            )
        self.records[record.name] = record


def _is_optional(hook_name: str) -> bool:
    return not hook_name.startswith("srpipe_")


def _import_plugin(spec: str) -> ModuleType:
    """Import ``spec``: a path to a ``.py`` file, or a dotted module name on ``sys.path``."""
    path = Path(spec)
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            raise UsageError(f"plugin file {spec} not found; give a path to a .py file")
        name = path.stem
        if not name.isidentifier():
            raise UsageError(f"plugin file {spec}: {name!r} is not a valid module name; rename it")
        if name in sys.modules:  # loaded before (tests, a second manager): reuse it
            loaded = sys.modules[name]
            if Path(getattr(loaded, "__file__", "") or "").resolve() == path.resolve():
                return loaded
            raise UsageError(
                f"plugin file {spec}: a module named {name!r} is already imported; rename the file"
            )
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise UsageError(f"plugin file {spec} cannot be imported; give a .py file")
        module = importlib.util.module_from_spec(module_spec)
        # in sys.modules before it runs, as a normal import: dataclasses and pickling need it
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise UsageError(
                f"plugin file {spec} failed to import: {type(exc).__name__}: {exc}"
            ) from None
        return module
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise UsageError(
            f"cannot import plugin {spec!r} ({exc}); give an importable module or a .py file"
        ) from None
    except Exception as exc:
        raise UsageError(f"plugin {spec!r} failed to import: {type(exc).__name__}: {exc}") from None


def plugin_dir_files(folder: str | Path) -> list[str]:
    """The plugin files of a plugins folder: every ``*.py`` not starting with ``_``, sorted."""
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"plugins folder {folder} not found; give a folder of .py files")
    return [str(p) for p in sorted(path.glob("*.py")) if not p.name.startswith("_")]


def _csv_env(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _entry_points() -> Iterable[tuple[metadata.EntryPoint, metadata.Distribution | None]]:
    for dist in metadata.distributions():
        for entry_point in dist.entry_points:
            if entry_point.group == ENTRY_POINT_GROUP:
                yield entry_point, dist


_MANAGER: SrpipePluginManager | None = None
_BLOCKED: set[str] = set()
_EXTRA: list[str] = []  # -p MODULE / -p FILE.py
_DIRS: list[str] = []  # --plugins-dir


def block_plugins(names: Iterable[str]) -> None:
    """Block plugins by name before the manager is built (``-p no:NAME``)."""
    global _MANAGER
    _BLOCKED.update(names)
    _MANAGER = None


def add_plugins(specs: Iterable[str] = (), dirs: Iterable[str] = ()) -> None:
    """Load plugins that are not installed (``-p MODULE``, ``--plugins-dir DIR``)."""
    global _MANAGER
    _EXTRA.extend(specs)
    _DIRS.extend(str(d) for d in dirs)
    _MANAGER = None


def get_plugin_manager() -> SrpipePluginManager:
    """The process-wide plugin manager, built on first use."""
    global _MANAGER
    if _MANAGER is None:
        manager = SrpipePluginManager()
        manager.load_builtins(_BLOCKED)
        manager.load_entry_points(_BLOCKED)
        dirs = [*_DIRS, *_path_env("SRPIPE_PLUGINS_DIR")]
        for folder in dirs:
            manager.load_modules(plugin_dir_files(folder), _BLOCKED, source="plugins dir")
        manager.load_modules(_EXTRA, _BLOCKED)
        if os.environ.get("SRPIPE_TRACE_HOOKS"):
            manager.trace.root.setwriter(lambda message: print(message, end=""))
            manager.enable_tracing()
        _MANAGER = manager
    return _MANAGER


def call_optional_hook(hook: str, **kwargs: Any) -> list[Any]:
    """Call a hook whose plugins only observe or add extras (observers, report figures,
    environment versions); its results, or ``[]`` when a plugin raised.

    A plugin failing there must not lose the user an hour-long evaluation or its report: the
    failure is one line on stderr naming the hook, and the work goes on.
    """
    try:
        return list(getattr(get_plugin_manager().hook, hook)(**kwargs))
    except Exception as exc:
        print(f"srpipe: a plugin's {hook} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return []


def reset_plugin_manager() -> None:
    """Forget the manager (tests, or after changing ``sys.path`` / the environment)."""
    global _MANAGER
    _MANAGER = None
    _BLOCKED.clear()
    _EXTRA.clear()
    _DIRS.clear()


def _path_env(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    return [part for part in raw.split(os.pathsep) if part.strip()]
