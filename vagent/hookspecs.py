"""Hook specifications: the whole plugin contract, signatures and docstrings only.

Every hook receives ``register``, a callable ``register(name, factory, *, description="")``.
Plugins hand *factories* (usually classes) to it; the host owns names and lookup, so
registering is cheap and heavy imports or weights load only when a factory is called.
A component id is ``name`` or ``name/spec``: the host splits on the first ``/`` and calls
``factory(spec, **options)`` where ``spec`` is the rest of the id (``None`` when absent).
Registering a name twice in one kind is an error that names both plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("vagent")
hookimpl = pluggy.HookimplMarker("vagent")

Register = Callable[..., None]


@hookspec
def vagent_register_decoders(register: Register) -> None:
    """Register video decoders: ``factory(spec) -> vagent.components.Decoder``."""


@hookspec
def vagent_register_segmenters(register: Register) -> None:
    """Register segmenters: ``factory(spec, seconds: float) -> vagent.components.Segmenter``.

    ``seconds`` is the target (fixed windows) or maximum (scene cuts) segment length.
    """


@hookspec
def vagent_register_visual_encoders(register: Register) -> None:
    """Register joint image/text encoders: ``factory(spec, device=None) -> VisualEncoder``.

    The encoder's ``embedding_space`` is pinned in the catalog of every library it builds.
    """


@hookspec
def vagent_register_text_encoders(register: Register) -> None:
    """Register text-only embedders for subtitle/OCR/caption spans (the text track)."""


@hookspec
def vagent_register_captioners(register: Register) -> None:
    """Register captioners: ``factory(spec, device=None) -> vagent.components.Captioner``.

    Captions become text spans (source ``caption``) of the segment they describe.
    """


@hookspec
def vagent_register_ocr(register: Register) -> None:
    """Register on-screen text readers that run on sampled frames (the text track)."""


@hookspec
def vagent_register_asr(register: Register) -> None:
    """Register speech recognisers: ``factory(spec, device=None) -> vagent.components.ASR``.

    ``spec`` names the model (a model name or a local model folder). The recogniser's ``id`` is
    pinned in the catalog of every library whose text track holds speech.
    """


@hookspec
def vagent_register_indexes(register: Register) -> None:
    """Register vector indexes: ``factory(spec, dim: int) -> vagent.components.VectorIndex``.

    ``spec`` is backend-specific (for FAISS an index factory string such as ``Flat``,
    ``IVF1024,Flat`` or ``HNSW32``); ``None`` means the backend's exact default.
    """


@hookspec
def vagent_register_rerankers(register: Register) -> None:
    """Register rerankers that reorder search hits for a query."""


@hookspec
def vagent_register_planners(register: Register) -> None:
    """Register planners: ``factory(spec, answerer=None) -> vagent.components.Planner``.

    ``answerer`` is the agent's answerer, whose ``complete`` an LLM planner may use (it returns
    None when the answerer has no language model).
    """


@hookspec
def vagent_register_answerers(register: Register) -> None:
    """Register answerers: ``factory(spec, device=None, encoder=None) -> Answerer``.

    ``encoder`` is the library's visual encoder (answerers that score frames with it use it);
    ``device`` is None for automatic (the GPU when there is one).
    """


@hookspec
def vagent_register_judges(register: Register) -> None:
    """Register judges of open answers: ``factory(spec) -> vagent.evaldata.judge.Judge``."""


@hookspec
def vagent_register_kv_stores(register: Register) -> None:
    """Register KV stores: ``factory(spec, root, budget_bytes=...) -> vagent.kv.store.KVStore``.

    A store keeps each segment's precomputed language-model KV cache (one packed tensor
    ``[layers, 2, kv_heads, tokens, head_dim]``) under the segment's key and the ``Fingerprint``
    (model, revision, dtype, prompt template, prefill mode) it was made with; ``root`` is the
    library's folder (stores keep their files under ``root/kv/``), ``budget_bytes`` the host
    memory it may keep loaded caches in. ``get`` reports a missing, corrupt or mismatched cache
    per segment (``vagent.kv.errors``) so the caller answers from frames for that segment only.
    """


@hookspec
def vagent_register_commands(cli: Any) -> None:
    """Add subcommands to the ``vagent`` click group ``cli`` (``cli.add_command(...)``)."""
