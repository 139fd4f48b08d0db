"""What the nodes of one agent share that is not state: the library, the models, the pixels."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vagent.agent.config import AgentConfig
from vagent.agent.state import Picked, QAState, Trace
from vagent.components import Answerer, Decoder, Planner

if TYPE_CHECKING:
    from vagent.library import Library

Node = Callable[[QAState, "AgentContext"], tuple[QAState, Trace]]
"""A node: ``node(state, ctx) -> (update, trace info)``."""


@dataclass
class AgentContext:
    """One agent's runtime objects. ``frames`` maps (video id, time) to decoded RGB pixels;
    ``kv`` maps segment id to the stored KV cache (``vagent.kv.KvEntry``) gather loaded for the
    current evidence, read through ``kv_store`` (opened on first use); ``model_ms`` accumulates
    time spent inside model calls during the current node; ``progress`` hears of each node as it
    ends."""

    library: Library
    answerer: Answerer
    planner: Planner
    decoder: Decoder
    config: AgentConfig = field(default_factory=AgentConfig)
    frames: dict[tuple[int, float], np.ndarray] = field(default_factory=dict)
    kv: dict[int, Any] = field(default_factory=dict)
    kv_store: Any = None
    model_ms: float = 0.0
    choice: Picked = field(default_factory=Picked)
    progress: Callable[[str, float, Trace], None] | None = None
    """Called after each node with its name, seconds and trace info (``vagent ask``'s lines)."""
    _decoders: dict[int, Decoder] = field(default_factory=dict)

    def decoder_for(self, video_id: int) -> Decoder:
        """The decoder ``video_id`` was indexed with (the catalog records it per video), else
        ``decoder`` (the default one): frames are decoded again the way they were first. Only
        the videos asked about are read from the catalog."""
        if video_id not in self._decoders:
            row = self.library.catalog.videos_by_id([video_id]).get(video_id)
            self._decoders[video_id] = self.library.decoder(row) if row else self.decoder
        return self._decoders[video_id]

    @contextmanager
    def model_call(self) -> Iterator[None]:
        """Time a model call so the trace can tell the agent's own overhead from the models'."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.model_ms += (time.perf_counter() - t0) * 1000.0


def traced(name: str, node: Node, ctx: AgentContext) -> Callable[[QAState], QAState]:
    """Wrap ``node(state, ctx) -> (update, info)``: append its timing and info to the trace."""

    def run(state: QAState) -> QAState:
        ctx.model_ms = 0.0
        t0 = time.perf_counter()
        update, info = node(state, ctx)
        ms = (time.perf_counter() - t0) * 1000.0
        base = update.get("trace", state.get("trace") or [])
        entry: Trace = {"node": name, "ms": round(ms, 3), "model_ms": round(ctx.model_ms, 3)}
        entry.update(info)
        if ctx.progress is not None:
            ctx.progress(name, ms / 1000.0, info)
        return {**update, "trace": [*base, entry]}

    return run
