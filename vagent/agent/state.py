"""The question-answering graph's state: what flows between nodes and what a thread keeps.

Everything here is plain JSON-able data, because the checkpointer stores it after every node.
Pixels and model caches never enter the state: the gather node keeps them in the run's
``AgentContext`` (see ``context.py``), keyed by (video id, time).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class QAState(TypedDict, total=False):
    # ---- the input of one ask ----------------------------------------------------------------
    question: str
    """The user's question, as asked."""
    options: list[str] | None
    """Multiple-choice option texts without their letters (A, B, ... follow the order); None."""
    videos: list[str] | None
    """Search only these videos (paths or file names); None: the whole library."""

    # ---- kept across asks in one thread (the checkpointer persists them) -------------------
    turns: Annotated[list[dict[str, Any]], operator.add]
    """Earlier questions of this thread with their answers and citations, oldest first."""

    # ---- one ask's working state (plan resets it) ------------------------------------------
    queries: list[str]
    """Sub-queries searched this round: the planner's, then refined ones on later rounds."""
    hits: list[dict[str, Any]]
    """Candidate moments fused over all sub-queries and rounds so far, best first
    (``Evidence.to_dict`` shape, ``score`` the fused score)."""
    evidence: list[dict[str, Any]]
    """The moments chosen for the answerer, in temporal order, each with its ``frame_times``."""
    missing_sources: list[str]
    """Videos whose source file is gone: answered from what the index holds."""
    draft: dict[str, Any]
    """The answerer's latest reply (``Draft`` fields), plus ``consistent`` after verify."""
    round: int
    """Retrieval rounds done in this ask (1 after the first retrieve)."""
    done: bool
    """Set by verify when the draft is accepted or the round budget is spent."""
    trace: list[dict[str, Any]]
    """One entry per node run: node name, milliseconds, model milliseconds, and what it did."""

    # ---- the output --------------------------------------------------------------------------
    answer: str
    """The final answer; for multiple choice it starts with the option letter."""
    citations: list[dict[str, Any]]
    """The moments the answer rests on: video, start, end, why (and missing when gone)."""
