"""The question-answering graph's state: what flows between nodes and what a thread keeps.

Everything here is plain JSON-able data, because the checkpointer stores it after every node.
Pixels and model caches never enter the state: the gather node keeps them in the run's
``AgentContext`` (see ``context.py``), keyed by (video id, time).

One moment keeps one shape from the search hit to the citation: ``vagent.types.Moment`` (what
``Evidence.to_dict`` writes) in ``hits`` and ``evidence``; a ``Cited`` names a moment by the
same keys (video, video_id, segment_id, start, end, missing) and adds what the user reads.
The nested shapes are TypedDicts, so mypy checks every node's reads and writes; at run time
they are plain dicts, and a thread checkpointed before they were declared loads unchanged.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from vagent.types import Moment


class Anchor(TypedDict, total=False):
    """A follow-up's time reference (``followup.resolve``): the moments searched lie on one
    side of an earlier citation, in its video. Exactly one of ``before``/``after`` (seconds)."""

    video: str
    video_id: int | None
    segment_id: int | None
    before: float
    after: float
    adjacent: bool
    """"right before that", "next": the closest moments first."""


class Cited(TypedDict):
    """A moment an answer rests on (or, ``near_miss``, the closest to a question the agent could
    not answer), as the thread keeps it and ``AskResult`` shows it."""

    video: str
    video_id: int | None
    segment_id: int | None
    name: str
    """The video's file name."""
    start: float
    end: float
    why: str
    """How it was found and the words there that decide the answer."""
    quote: str
    """The deciding words (a window around them); empty when it holds none."""
    missing: bool
    near_miss: bool


class Turn(TypedDict, total=False):
    """One earlier ask of a thread, kept across asks."""

    question: str
    options: list[str] | None
    answer: str
    citations: list[Cited]
    abstained: bool


class Support(TypedDict):
    """A span supporting the answer (``grounding.Support`` as data): evidence and span index,
    its deciding words."""

    evidence: int
    span: int
    words: list[str]


class GroundingState(TypedDict):
    """``grounding.Grounding.to_dict``: whether the draft stands on the evidence, and how."""

    grounded: bool
    reason: str
    by: str
    coverage: float | None
    support: list[Support]


class DraftState(TypedDict, total=False):
    """The answerer's latest reply (``vagent.types.Draft`` as data) and what answer and verify
    add to it."""

    text: str
    choice: int | None
    confidence: float | None
    option_scores: list[float] | None
    used: list[int]
    meta: dict[str, Any]
    shown: list[list[Any]]
    """What the answerer was shown (``answer.shown_key``): a refined search that chose the same
    moments reuses the draft."""
    model_scores: list[float]
    consistent: bool
    """Multiple choice: the re-ask with the options rotated picked the same option."""
    grounded: bool
    grounding: GroundingState


class QueryHits(TypedDict):
    query: str
    hits: int


class Trace(TypedDict, total=False):
    """What one node run says for the trace: ``node``, ``ms`` and ``model_ms`` (added by
    ``context.traced``), then what the node did (each node fills its own keys)."""

    node: str
    ms: float
    model_ms: float
    # plan
    planner: str
    resolved: str
    anchor: Anchor
    error: str
    queries: list[str] | list[QueryHits]
    """plan: the sub-queries; retrieve: each sub-query with its number of hits."""
    # retrieve
    round: int
    neighbours: int
    anchored: int
    # select
    candidates: int
    moments: int
    frames: int
    frame_budget: int
    # gather
    frames_decoded: int
    source: str | None
    kv_segments: int
    kv_of: int
    kv_fingerprint: str
    kv_corrupt: list[str]
    kv_unusable: list[str]
    kv_error: str
    missing: list[str] | int
    """gather: the sources that could not be read, one line each; finish: how many."""
    # answer and verify
    answerer: str
    skipped: str
    reused: str
    confidence: float | None
    choice: int | None
    option_evidence: list[float]
    consistent: bool
    reask_choice: int
    grounded: bool
    accepted: bool
    not_grounded: str
    refined: list[str]
    # finish
    cited: int
    near_misses: int
    abstained: bool


class Picked(TypedDict, total=False):
    """Which answerer and planner an agent runs, and why that answerer."""

    answerer: str
    answerer_reason: str
    planner: str


class AskTrace(Picked, total=False):
    """``AskResult.trace``: the components picked, the plan, every node's ``Trace``, the
    evidence shown and the last draft, timings, and the agent's settings."""

    semantic: bool
    """False: a random-weight answerer; the answer carries no meaning."""
    queries: list[str]
    """The planner's sub-queries."""
    rounds: int
    nodes: list[Trace]
    evidence: list[Moment]
    draft: DraftState
    total_ms: float
    model_ms: float
    overhead_ms: float
    config: dict[str, Any]
    """``AgentConfig.to_dict``."""


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
    turns: Annotated[list[Turn], operator.add]
    """Earlier questions of this thread with their answers and citations, oldest first."""

    # ---- one ask's working state (plan resets it) ------------------------------------------
    resolved: str
    """The question as the answerer sees it: a follow-up resolved against the thread ("before
    that" becomes "before 0:40 in cook.mp4", an elliptical one carries the earlier question)."""
    anchor: Anchor | None
    """A follow-up's time reference: {"video", "video_id", "segment_id", "before" or "after"
    (seconds), "adjacent"}: the moments searched lie on that side of the earlier citation."""
    queries: list[str]
    """Sub-queries searched this round: the planner's, then refined ones on later rounds."""
    searched: list[str]
    """Sub-queries of the earlier rounds of this ask (refinement never repeats one)."""
    hits: list[Moment]
    """Candidate moments fused over all sub-queries and rounds so far, best first
    (``Evidence.to_dict`` shape, ``score`` the fused score)."""
    evidence: list[Moment]
    """The moments chosen for the answerer, in temporal order, each with its ``frame_times``."""
    missing_sources: list[str]
    """Videos whose source file is gone: answered from what the index holds."""
    draft: DraftState
    """The answerer's latest reply (``Draft`` fields), plus ``consistent``, ``grounded`` and
    ``grounding`` (``grounding.Grounding.to_dict``) after verify."""
    round: int
    """Retrieval rounds done in this ask (1 after the first retrieve)."""
    done: bool
    """Set by verify when the draft is accepted or the round budget is spent."""
    trace: list[Trace]
    """One entry per node run: node name, milliseconds, model milliseconds, and what it did."""

    # ---- the output --------------------------------------------------------------------------
    answer: str
    """The final answer; for multiple choice it starts with the option letter."""
    citations: list[Cited]
    """The moments the answer rests on: video, start, end, why, quote (the deciding words),
    missing; when the agent abstains, the closest moments with ``near_miss`` True."""
    abstained: bool
    """Nothing in the library supports an answer, and none was forced (``guess``)."""
    guessed: bool
    """No support, but ``guess`` asked for an answer anyway: it is labelled a guess."""
