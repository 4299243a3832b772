"""srpipe's modules import each other without cycles, and none grows into a grab-bag.

Module-level imports only: those under ``if TYPE_CHECKING:`` never run, and a
function-level import of a heavy package (torch, ultralytics, cv2) is allowed by design.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "srpipe"
#: lines above which a module must say at its top why it is that long
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _top_level_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:  # module level only; TYPE_CHECKING blocks are `If` nodes
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from srpipe import atomic` imports a module
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return {name for name in found if name in modules}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = _top_level_imports(path, modules)
        # importing a.b.c runs a/__init__ and a/b/__init__ first
        for dep in list(deps):
            parts = dep.split(".")
            deps.update(".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]))
        deps.discard(name)
        graph[name] = {d for d in deps if d in modules and not name.startswith(d + ".")}
    return graph


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_graph_sees_real_imports() -> None:
    graph = _graph()
    assert "srpipe.results" in graph["srpipe.harness"]
    assert "srpipe.plugins" in graph["srpipe.api"]


def test_long_modules_say_why() -> None:
    long = []
    for path in ROOT.rglob("*.py"):
        lines = path.read_text().splitlines()
        head = "\n".join(lines[:40]).lower()
        if len(lines) > MAX_LINES and "long because" not in head:
            long.append(f"{path.relative_to(ROOT.parent)} ({len(lines)} lines)")
    assert not long, "over ~600 lines without a reason at the top: " + ", ".join(long)
