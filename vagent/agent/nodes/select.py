"""select: choose the moments and frames to show the answerer, under a budget.

Relevance alone piles the budget onto one scene (a hit and its neighbours score alike); the
Adaptive Keyframe Sampling idea is to trade relevance against temporal coverage. Greedily, each
candidate's value is its relevance (fused score over the best score) minus ``coverage`` times
its closeness to the nearest moment already chosen in the same video, where closeness is
``exp(-|gap| / tau)`` with ``tau`` the video's duration over twice the segment budget. Frames
then go one per chosen moment (its best-matching frame) and the rest round-robin by relevance,
each new frame as far as possible from the frames that moment already has. Evidence leaves in
temporal order, with every text span inside each moment attached (``lookup.moment_texts``:
speech as found by search, the whole transcript of the moment, bounded in characters).
"""

from __future__ import annotations

import math

from vagent.agent import lookup
from vagent.agent.context import AgentContext
from vagent.agent.state import QAState, Trace
from vagent.types import Moment


def select_evidence(state: QAState, ctx: AgentContext) -> tuple[QAState, Trace]:
    hits = state.get("hits") or []
    cfg = ctx.config
    budget = max(1, min(cfg.max_frames, ctx.answerer.max_frames))
    chosen = choose_moments(hits, cfg.max_segments, cfg.coverage, ctx)
    times = lookup.frame_times(ctx.library.catalog, [h["segment_id"] for h in chosen])
    allot_frames(chosen, times, budget)
    spans = lookup.spans_in(
        ctx.library.catalog, [(h["video_id"], h["start"], h["end"]) for h in chosen]
    )
    for h, s in zip(chosen, spans):  # every span inside (the whole transcript), bounded
        h["texts"] = lookup.moment_texts(s, h.get("texts") or [])
    evidence = sorted(chosen, key=lambda h: (h["video"], h["start"]))
    info: Trace = {
        "candidates": len(hits),
        "moments": len(evidence),
        "frames": sum(len(h["frame_times"]) for h in evidence),
        "frame_budget": budget,
    }
    return {"evidence": evidence}, info


def choose_moments(
    hits: list[Moment], n: int, coverage: float, ctx: AgentContext | None
) -> list[Moment]:
    """Greedy relevance-versus-coverage choice of at most ``n`` of ``hits`` (copied)."""
    if not hits:
        return []
    top = max(h["score"] for h in hits) or 1.0
    durations: dict[int, float] = {}
    if ctx is not None:
        durations = lookup.video_durations(ctx.library.catalog, list({h["video_id"] for h in hits}))
    pool = [h.copy() for h in hits]
    chosen: list[Moment] = []
    while pool and len(chosen) < n:
        best_i, best_v = 0, -math.inf
        for i, h in enumerate(pool):
            rel = h["score"] / top
            tau = max(durations.get(h["video_id"], 0.0) / (2 * n), h["end"] - h["start"], 1.0)
            mid = (h["start"] + h["end"]) / 2
            close = max(
                (
                    math.exp(-abs(mid - (c["start"] + c["end"]) / 2) / tau)
                    for c in chosen
                    if c["video_id"] == h["video_id"]
                ),
                default=0.0,
            )
            value = rel - coverage * close
            if value > best_v:
                best_i, best_v = i, value
        chosen.append(pool.pop(best_i))
    return chosen


def allot_frames(chosen: list[Moment], times: dict[int, list[float]], budget: int) -> None:
    """Set each moment's ``frame_times`` (sorted) so that all of them hold ``budget`` at most."""
    picks: list[list[float]] = []
    for h in chosen:
        own = times.get(h["segment_id"], [])
        first = h["frame_times"][0] if h.get("frame_times") else (own[0] if own else h["start"])
        picks.append([first])
    left = budget - len(chosen)
    if left < 0:  # fewer frames than moments: the most relevant moments get one each
        for p in picks[budget:]:
            p.clear()
        left = 0
    grew = True
    while left > 0 and grew:
        grew = False
        for h, p in zip(chosen, picks):
            if left == 0:
                break
            spare = [t for t in times.get(h["segment_id"], []) if t not in p]
            if not spare or not p:
                continue
            p.append(max(spare, key=lambda t: min(abs(t - u) for u in p)))
            left -= 1
            grew = True
    for h, p in zip(chosen, picks):
        h["frame_times"] = sorted(p)
