"""The core's shape (issue 11): no import circle among vagent's modules, and importing one small
module does not load the whole package (``import vagent.x`` runs vagent/__init__ first)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import vagent

CORE = Path(vagent.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["vagent", *path.relative_to(CORE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runs_at_import(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The imports a module runs when imported: not those inside functions or under
    ``if TYPE_CHECKING``."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the vagent modules it imports when imported. ``from pkg import name`` counts
    as importing ``pkg`` (its __init__) unless ``name`` is a submodule."""
    paths = {_module_name(p): p for p in CORE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in _runs_at_import(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
                continue
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names} & paths.keys()
            deps |= subs or {base}
            if len(subs) < len(node.names):
                deps.add(base)
        graph[name] = {d for d in deps if d in paths and d != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest circle through each module that lies on one."""
    found: list[list[str]] = []
    for start in sorted(graph):
        paths = {start: [start]}
        frontier = [start]
        while frontier and not any(start in graph[m] for m in frontier):
            nxt = []
            for m in frontier:
                for d in sorted(graph[m]):
                    if d not in paths:
                        paths[d] = paths[m] + [d]
                        nxt.append(d)
            frontier = nxt
        ends = [m for m in frontier if start in graph[m]]
        if ends:
            found.append(paths[ends[0]] + [start])
    return found


def test_the_graph_sees_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c", "a"],
        ["b", "c", "a", "b"],
        ["c", "a", "b", "c"],
    ]


def test_no_import_circles_in_the_core() -> None:
    graph = import_graph()
    assert "vagent.search.visual" in graph["vagent.search.hybrid"]  # the graph is read
    assert circles(graph) == []


def test_search_lives_in_the_search_package() -> None:
    """A search (mode, query encoding, channels, hits) is ``vagent.search.query``'s: the
    library reaches the search package only through it, its consistent read and the text state
    it caches; and the search package never imports the library."""
    graph = import_graph()
    search = {m for m in graph["vagent.library.core"] if m.startswith("vagent.search")}
    assert search == {"vagent.search.query", "vagent.search.read", "vagent.search.text"}
    reached: set[str] = set()
    todo = ["vagent.search.query"]
    while todo:
        for dep in graph[todo.pop()] - reached:
            reached.add(dep)
            todo.append(dep)
    assert not [m for m in reached if m.startswith("vagent.library")]


def test_a_small_module_imports_alone() -> None:
    """``import vagent.errors`` (or the search's fusion) loads neither the library, the agent,
    the catalog nor NumPy: the package's public names are resolved on first use."""
    code = (
        "import sys, vagent.errors, vagent.search.fusion\n"
        "heavy = ('vagent.library', 'vagent.agent', 'vagent.catalog', 'numpy', 'sqlalchemy')\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "from vagent import Library, Agent, Hit\n"
        "print(Library.__module__, Agent.__module__, Hit.__module__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "vagent.library.core vagent.agent.api vagent.types"]


def test_every_package_is_in_the_explicit_package_list() -> None:
    """setuptools installs only the packages pyproject names: one left out is missing from a
    wheel (the editable install hides it). Every folder with an __init__.py under vagent/ and
    plugins/ is listed."""
    import tomllib

    root = CORE.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(init.parent.relative_to(base).parts)
        for base, top in ((root, root / "vagent"), (root / "plugins", root / "plugins"))
        for init in top.rglob("__init__.py")
    }
    assert sorted(found - listed) == []
    assert {p for p in listed if not p.startswith("vagent_workflows")} <= found
