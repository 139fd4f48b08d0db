"""The seam between the core and the plugins: plugins import only the contract modules
(``vagent.contract.CONTRACT``), and importing those loads no model code (torch, transformers)."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from vagent.contract import CONTRACT, allowed

ROOT = REPO
PLUGINS = ROOT / "plugins"
# the modules issue 11 names, and every module of the contract
MUST_BE_LIGHT = (
    "vagent.components",
    "vagent.plugins",
    "vagent.hookspecs",
    "vagent.types",
    "vagent.errors",
    "vagent.kv",
    "vagent.kv.errors",
    "vagent.kv.packed",
    "vagent.kv.fingerprint",
)
EXACT = tuple(m for m in CONTRACT if not m.endswith(".*"))


def vagent_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a ``vagent`` module in ``source``, at any depth
    (functions, ``TYPE_CHECKING`` blocks); ``from vagent import x`` counts as ``vagent.x``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "vagent"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "vagent":
                out += [(node.lineno, f"vagent.{a.name}") for a in node.names]
            elif node.module.startswith("vagent."):
                out.append((node.lineno, node.module))
    return out


def test_importing_the_contract_loads_no_model_code() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for m in {list(dict.fromkeys(MUST_BE_LIGHT + EXACT))!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(m for m in ('torch', 'transformers') if m in sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []


def test_plugins_import_only_the_contract() -> None:
    files = sorted(PLUGINS.rglob("*.py"))
    assert len(files) > 20
    bad = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in files
        for line, module in vagent_imports(path.read_text(encoding="utf-8"))
        if not allowed(module)
    ]
    assert bad == [], "plugins import core internals (not in vagent.contract.CONTRACT):\n" + (
        "\n".join(bad)
    )


def test_the_check_sees_every_form_of_import() -> None:
    source = (
        "import vagent.kv.build\n"
        "from vagent import Library, plugins\n"
        "from vagent.text.lexical import tokens\n"
        "from .sibling import x\n"
        "import numpy\n"
        "def f():\n"
        "    from vagent.kv.errors import KvError\n"
    )
    found = vagent_imports(source)
    assert found == [
        (1, "vagent.kv.build"),
        (2, "vagent.Library"),
        (2, "vagent.plugins"),
        (3, "vagent.text.lexical"),
        (7, "vagent.kv.errors"),
    ]
    assert [m for _, m in found if not allowed(m)] == [
        "vagent.kv.build",
        "vagent.Library",
        "vagent.text.lexical",
    ]
    assert allowed("vagent.components.kv_store") and not allowed("vagent.componentsx")


@pytest.mark.parametrize("module", EXACT)
def test_every_contract_module_exists(module: str) -> None:
    importlib.import_module(module)
