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
    """Register captioners that describe a segment's frames in words (the text track)."""


@hookspec
def vagent_register_ocr(register: Register) -> None:
    """Register on-screen text readers that run on sampled frames (the text track)."""


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
    """Register planners that split a question into sub-queries (the agent)."""


@hookspec
def vagent_register_answerers(register: Register) -> None:
    """Register answerers: the video-LLM tools the agent calls (the agent)."""


@hookspec
def vagent_register_kv_stores(register: Register) -> None:
    """Register stores for precomputed video-LLM KV caches (KV-cache reuse)."""


@hookspec
def vagent_register_commands(cli: Any) -> None:
    """Add subcommands to the ``vagent`` click group ``cli`` (``cli.add_command(...)``)."""
