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
    guess: bool
    """Force an answer (labelled a guess) where the evidence does not support one; default
    False: the agent abstains instead."""

    # ---- kept across asks in one thread (the checkpointer persists them) -------------------
    turns: Annotated[list[dict[str, Any]], operator.add]
    """Earlier questions of this thread with their answers and citations, oldest first."""

    # ---- one ask's working state (plan resets it) ------------------------------------------
    resolved: str
    """The question as the answerer sees it: a follow-up resolved against the thread ("before
    that" becomes "before 0:40 in cook.mp4", an elliptical one carries the earlier question)."""
    anchor: dict[str, Any] | None
    """A follow-up's time reference: {"video", "video_id", "segment_id", "before" or "after"
    (seconds), "adjacent"}: the moments searched lie on that side of the earlier citation."""
    queries: list[str]
    """Sub-queries searched this round: the planner's, then refined ones on later rounds."""
    searched: list[str]
    """Sub-queries of the earlier rounds of this ask (refinement never repeats one)."""
    hits: list[dict[str, Any]]
    """Candidate moments fused over all sub-queries and rounds so far, best first
    (``Evidence.to_dict`` shape, ``score`` the fused score)."""
    evidence: list[dict[str, Any]]
    """The moments chosen for the answerer, in temporal order, each with its ``frame_times``."""
    missing_sources: list[str]
    """Videos whose source file is gone: answered from what the index holds."""
    draft: dict[str, Any]
    """The answerer's latest reply (``Draft`` fields), plus ``consistent``, ``grounded`` and
    ``grounding`` (``grounding.Grounding.to_dict``) after verify."""
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
    """The moments the answer rests on: video, start, end, why, quote (the deciding words),
    missing; when the agent abstains, the closest moments with ``near_miss`` True."""
    abstained: bool
    """Nothing in the library supports an answer, and none was forced (``guess``)."""
    guessed: bool
    """No support, but ``guess`` asked for an answer anyway: it is labelled a guess."""
