"""The core picks defaults without knowing plugins by name: the agent's answerer comes from the
plugins' own ``suggest`` checks or the kind table, the KV store and the agent's decoder from the
table; the core modules that did name plugins ("pyav", "safetensors", SmolVLM2's weights in
the hub cache) name none."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, using_plugins
from tests.plugins import eager
from vagent import plugins
from vagent.agent.choose import default_answerer, default_planner
from vagent.components import ANSWERER, PLANNER

ROOT = REPO
# the core modules issue 11 found naming plugins or reading their insides
CORE = [
    "vagent/agent/api.py",
    "vagent/agent/choose.py",
    "vagent/agent/nodes/gather.py",
    "vagent/cli/kv.py",
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "vagent/kv").glob("*.py"))),
]


@pytest.fixture
def eager_plugin() -> Iterator[None]:
    with using_plugins(eager):
        yield
    eager.STATE["mode"] = "ready"


def test_an_answerer_that_suggests_itself_is_picked(eager_plugin: None) -> None:
    assert default_answerer(plugins.registry()) == ("eager/fast", "the fast eager model is here")


def test_the_kind_default_follows_with_the_reasons_others_gave(eager_plugin: None) -> None:
    eager.STATE["mode"] = "busy"
    name, why = default_answerer(plugins.registry())
    assert name == ANSWERER.default and why.startswith("eager is busy, ")
    assert why.endswith(f"{ANSWERER.default} is the default answerer")
    eager.STATE["mode"] = "broken"
    name, why = default_answerer(plugins.registry())
    assert name == ANSWERER.default and "eager: RuntimeError: cannot tell" in why


def test_hf_vlm_suggests_itself_with_a_gpu_and_local_weights(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from vagent_hf import suggest

    monkeypatch.setenv("VAGENT_VLM", str(tmp_path))  # a local folder: no download needed
    monkeypatch.setattr(suggest, "gpu_available", lambda: False)
    name, why = default_answerer(plugins.registry())
    assert name == ANSWERER.default and why.startswith("no GPU")
    monkeypatch.setattr(suggest, "gpu_available", lambda: True)
    assert default_answerer(plugins.registry())[0] == f"hf-vlm/{tmp_path}"
    monkeypatch.setenv("VAGENT_VLM", str(tmp_path / "absent"))
    name, why = default_answerer(plugins.registry())
    assert name == ANSWERER.default and f"no local weights for {tmp_path / 'absent'}" in why


def test_the_default_planner_comes_from_the_table() -> None:
    assert default_planner(plugins.registry()) == PLANNER.default


def _strings(path: str) -> list[str]:
    """String constants of a module, leaving out docstrings."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


@pytest.mark.parametrize("path", CORE)
def test_these_core_modules_name_no_plugin(path: str) -> None:
    names = {r.name for r in plugins.registry().all()}
    named = {s for s in _strings(path) if s in names or "SmolVLM" in s or "huggingface" in s}
    assert named == set(), f"{path} names plugins: {sorted(named)}"


def test_info_reads_training_through_the_index_contract() -> None:
    """``vagent info``'s ``trained`` comes from ``VectorIndex.trained``, not FAISS's insides:
    FAISS says False while an IVF index still searches its exact stand-in, True after; a
    backend that does not say (the base class) is left out."""
    import numpy as np

    from vagent.components import INDEX, VectorIndex

    ivf = plugins.registry().create(INDEX, "faiss/IVF4,Flat", dim=8)
    flat = plugins.registry().create(INDEX, "faiss/Flat", dim=8)
    assert ivf.trained is False and flat.trained is True
    x = np.random.default_rng(0).standard_normal((200, 8)).astype(np.float32)
    ivf.add(np.arange(200, dtype=np.int64), x / np.linalg.norm(x, axis=1, keepdims=True))
    assert ivf.trained is True
    assert VectorIndex.trained.fget(flat) is None  # type: ignore[attr-defined]
    source = (ROOT / "vagent/library/info.py").read_text(encoding="utf-8")
    assert "staging" not in source
