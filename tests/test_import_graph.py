"""srpipe's rooms import each other downwards only, without cycles, and no module is a grab-bag.

Every import counts: module level, inside functions, and under ``if TYPE_CHECKING:`` (a type-only
import still ties two modules together for a reader, and a function-level one is a cycle that
merely waits for its first call). The graph covers ``srpipe/`` and the plugins shipped in
``plugins/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = (REPO / "srpipe", REPO / "plugins")
#: no module in srpipe/ or plugins/ longer than this
MAX_LINES = 600
#: modules directly in srpipe/ (the rest live in rooms: subpackages named by their seam)
MAX_ROOT_MODULES = 18

#: The layering, lowest first. A module belongs to the longest prefix that names it and may
#: import its own layer and the ones below; the cycle test rules within a layer. The README's
#: Architecture section states the same.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "basics",
        (
            "srpipe.errors",
            "srpipe.version",
            "srpipe.atomic",
            "srpipe.hashing",
            "srpipe.image",
            "srpipe.pickle_check",
        ),
    ),
    (
        "contract",
        (
            "srpipe.task",
            "srpipe.frames",
            "srpipe.models.spec",
            "srpipe.hookspecs",
            "srpipe.plugins",
            "srpipe.environment",
            "srpipe.distributed",
            "srpipe.weights",
        ),
    ),
    ("engine", ("srpipe.models", "srpipe.upscaling", "srpipe.data", "srpipe.tasks")),
    ("pipelines", ("srpipe.comparison", "srpipe.running", "srpipe.train")),
    # the writers read the comparison's result types; nothing below them knows they exist
    ("reports", ("srpipe.report",)),
    (
        "faces",
        (
            "srpipe",
            "srpipe.api",
            "srpipe.commands",
            "srpipe.cli",
            "srpipe.__main__",
            "srpipe.demo",
            "srpipe.testing",
        ),
    ),
    # the shipped plugins sit on top, as a third party's would
    (
        "plugins",
        ("srpipe_detect", "srpipe_faces", "srpipe_video", "srpipe_medical", "srpipe_action"),
    ),
]


def _module_name(path: Path) -> str:
    root = next(s for s in SOURCES if path.is_relative_to(s))
    base = root.parent if root.name == "srpipe" else root
    parts = path.relative_to(base).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _files() -> list[Path]:
    return [p for source in SOURCES for p in source.rglob("*.py")]


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in _files()}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every srpipe module this file imports, wherever the import statement stands."""
    found: set[str] = set()
    package = _module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*base, module] if module else base)
            for alias in node.names:  # `from srpipe import atomic` imports a module
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in modules else module)
    return {name for name in found if name in modules}


def _graph(parents: bool = True) -> dict[str, set[str]]:
    """module -> the srpipe modules it imports; with ``parents`` also the packages whose
    ``__init__`` those imports run (a cycle through them is real; for the layering, each
    ``__init__`` is judged by its own imports)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = _imports(path, modules)
        # importing a.b.c runs a/__init__ and a/b/__init__ first
        for dep in list(deps) if parents else ():
            parts = dep.split(".")
            deps.update(".".join(parts[:i]) for i in range(1, len(parts)))
        deps.discard(name)
        graph[name] = {d for d in deps if d in modules and not name.startswith(d + ".")}
    return graph


def _layer(module: str) -> int:
    best, best_len = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS (and the README)"
    return best


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


def test_rooms_import_downwards_only() -> None:
    upward = []
    for module, deps in sorted(_graph(parents=False).items()):
        for dep in sorted(deps):
            if _layer(dep) > _layer(module):
                upward.append(
                    f"{module} ({LAYERS[_layer(module)][0]}) imports {dep} "
                    f"({LAYERS[_layer(dep)][0]})"
                )
    assert not upward, "imports against the layering: " + "; ".join(upward)


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = _graph()
    assert "srpipe.comparison.results" in graph["srpipe.comparison.harness"]  # module level
    assert "srpipe.plugins" in graph["srpipe.api"]
    # a function-level import of a plugin's own module is counted
    assert any(d.startswith("srpipe_detect.") for d in graph["srpipe_detect.plugin"])


def test_no_module_is_too_long() -> None:
    long = [
        f"{path.relative_to(REPO)} ({n} lines)"
        for path in _files()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, f"over {MAX_LINES} lines; split along its seams: " + ", ".join(long)


def test_the_root_holds_few_modules() -> None:
    root = sorted(p.name for p in (REPO / "srpipe").glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root
