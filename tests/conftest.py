"""Shared fixtures: a throwaway third-party plugin "installed" through a dist-info folder."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

# Two xdist workers share two cores: one thread each avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("SRPIPE_CACHE", str(Path(__file__).parent / ".cache-srpipe"))


REPO = Path(__file__).resolve().parents[1]


def load_script(path: Path | str, name: str | None = None) -> ModuleType:
    """A script or one-file plugin run as a file (not a package module), imported by path;
    ``path`` relative to the repository root, or absolute."""
    path = REPO / path
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _torch_one_thread() -> None:
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def make_distribution(
    root: Path, dist_name: str, modules: dict[str, str], entry_points: dict[str, str]
) -> Path:
    """Write modules and a ``<dist>.dist-info`` with ``srpipe`` entry points under ``root``.

    Putting ``root`` on ``sys.path`` (or PYTHONPATH for a subprocess) makes the plugin
    visible to ``importlib.metadata`` exactly as a pip-installed one would be.
    """
    root.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist_name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 0.1.0\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[srpipe]\n{lines}\n")
    return root


@pytest.fixture
def third_party(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, dict[str, str], dict[str, str]], Path]]:
    """Install throwaway plugins on ``sys.path`` and rebuild the plugin manager around them."""
    from srpipe.plugins import reset_plugin_manager

    def install(dist_name: str, modules: dict[str, str], entry_points: dict[str, str]) -> Path:
        root = make_distribution(tmp_path / "site", dist_name, modules, entry_points)
        monkeypatch.syspath_prepend(str(root))
        importlib.invalidate_caches()
        reset_plugin_manager()
        return root

    yield install
    for module in [m for m in sys.modules if m.startswith("tp_")]:
        del sys.modules[module]
    reset_plugin_manager()


@pytest.fixture
def example_plugin_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "examples" / "srpipe_sharpness"
