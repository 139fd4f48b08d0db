"""Every plugin kind is complete (in the style of datasette's test_plugin_hooks_have_tests): a
base class in the contract (``vagent.components``), a row in README's Plugins table, at least
one built-in that a ``vagent`` entry point registers, and a contract suite in
``vagent.testing`` that ``tests/contracts/test_builtins.py`` runs over those built-ins.
A fake kind shows that each missing piece is named."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.contracts import test_builtins
from vagent import plugins
from vagent.components import KINDS, SEGMENTER, Kind
from vagent.plugins import Registration
from vagent.testing import SUITES, Contract, suite_for

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "vagent"  # the distribution whose entry points register the built-ins


def plugins_table(readme: str) -> str:
    """README's Plugins section, up to the next section."""
    m = re.search(r"^## Plugins\n(.*?)(?=^## )", readme, re.S | re.M)
    return m.group(1) if m else ""


def problems(
    kinds: Iterable[Kind[Any]],
    registrations: Iterable[Registration],
    readme: str,
    suites: Mapping[str, type[Contract[Any]]],
    classes: Iterable[type],
) -> list[str]:
    """One line per piece a kind lacks."""
    table = plugins_table(readme)
    regs, cls = list(registrations), list(classes)
    out = []
    for kind in kinds:
        base = kind.base
        if not (inspect.isclass(base) and base.__module__.startswith("vagent.components.")):
            out.append(f"{kind.name}: base class {base!r} is not in the contract")
        elif not inspect.isabstract(base):
            out.append(f"{kind.name}: base class {base.__name__} declares no abstract method")
        row = rf"^\| `{re.escape(kind.hook)}` \| {re.escape(kind.name)} \|"
        if not re.search(row, table, re.M):
            out.append(f"{kind.name}: no row for `{kind.hook}` in README's Plugins table")
        builtin = {r.name for r in regs if r.kind == kind.name and r.distribution == PROJECT}
        if not builtin:
            out.append(f"{kind.name}: no built-in registered by a {PROJECT} entry point")
        elif kind.default is not None and kind.default.split("/")[0] not in builtin:
            out.append(f"{kind.name}: its default {kind.default!r} is no built-in")
        if kind.name not in suites:
            out.append(f"{kind.name}: no contract suite in vagent.testing")
            continue
        suite = suites[kind.name]
        if suite.base is not base or suite.kind != kind.name:
            out.append(f"{kind.name}: its suite checks {suite.base.__name__}, not the kind's base")
        runs = [
            c
            for c in cls
            if issubclass(c, suite)
            and not any(m.name == "skip" for m in getattr(c, "pytestmark", []))
        ]
        if not runs:
            out.append(f"{kind.name}: no contract test runs its suite over a built-in")
    return out


def _suites() -> dict[str, type[Contract[Any]]]:
    return {name: suite_for(name) for name in SUITES}


def _contract_classes() -> list[type]:
    return [c for c in vars(test_builtins).values() if isinstance(c, type)]


def _now() -> tuple[list[Registration], str]:
    return plugins.registry().all(), (ROOT / "README.md").read_text()


def test_every_kind_is_complete() -> None:
    regs, readme = _now()
    assert problems(KINDS, regs, readme, _suites(), _contract_classes()) == []
    # and each suite's built-ins really are collected as tests with checks
    for kind in KINDS:
        suite = suite_for(kind)
        assert suite.checks(), kind.name


def test_suites_load_without_pytest_or_model_libraries() -> None:
    """An author's code may import the suites anywhere: no pytest, no torch (but the KV store's
    suite, whose entries are torch tensors)."""
    names = [v.partition(":")[0] for k, v in SUITES.items() if k != "kv_store"]
    code = (
        "import sys, importlib\n"
        f"for m in {names!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in ('pytest', 'torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


class Gizmo(ABC):
    @abstractmethod
    def spin(self) -> None: ...


GIZMO: Kind[Gizmo] = Kind("gizmo", "vagent_register_gizmos", Gizmo, None, "gizmos", "f(spec)")


def test_a_kind_with_nothing_is_named_for_each_missing_piece() -> None:
    regs, readme = _now()
    got = problems([GIZMO], regs, readme, _suites(), _contract_classes())
    assert got == [
        "gizmo: base class <class 'tests.contracts.test_kinds_complete.Gizmo'> is not in the "
        "contract",
        "gizmo: no row for `vagent_register_gizmos` in README's Plugins table",
        "gizmo: no built-in registered by a vagent entry point",
        "gizmo: no contract suite in vagent.testing",
    ]


@pytest.mark.parametrize("missing", ["base", "readme", "builtin", "default", "suite", "tests"])
def test_each_missing_piece_fails_a_real_kind(missing: str) -> None:
    regs, readme = _now()
    kind, suites, classes = SEGMENTER, _suites(), _contract_classes()
    if missing == "base":
        kind = replace(SEGMENTER, base=Gizmo)
    elif missing == "readme":
        readme = re.sub(r"^\| `vagent_register_segmenters` .*\n", "", readme, flags=re.M)
    elif missing == "builtin":
        regs = [r for r in regs if r.kind != "segmenter"]
    elif missing == "default":
        kind = replace(SEGMENTER, default="halves")
    elif missing == "suite":
        del suites["segmenter"]
    else:
        classes = [c for c in classes if not issubclass(c, suite_for("segmenter"))]
    got = problems([kind], regs, readme, suites, classes)
    assert got and all(g.startswith("segmenter: ") for g in got), got
    assert problems([SEGMENTER], *_now(), _suites(), _contract_classes()) == []
