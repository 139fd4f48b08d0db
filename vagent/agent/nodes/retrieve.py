"""retrieve: search the library for every sub-query, fuse the lists (reciprocal rank fusion,
with what earlier rounds found as one more list), and add the neighbours of the top moments.

A follow-up anchored on the thread ("right before that", see ``followup``) keeps only the
moments on the anchor's side of the earlier citation, in its video, and adds the moments right
next to it (channel ``anchor``), the closest ranked first when the follow-up says "right"."""

from __future__ import annotations

from vagent.agent import lookup
from vagent.agent.context import AgentContext
from vagent.agent.followup import keeps
from vagent.agent.state import Anchor, QAState, QueryHits, Trace
from vagent.catalog.schema import SegmentRow
from vagent.search.fusion import rrf
from vagent.types import Evidence, Moment

NEIGHBOUR_DECAY = 0.5
ANCHOR_MOMENTS = 2


def retrieve(state: QAState, ctx: AgentContext) -> tuple[QAState, Trace]:
    cfg = ctx.config
    lists: dict[str, list[int]] = {}
    found: dict[int, Moment] = {h["segment_id"]: h.copy() for h in state.get("hits") or []}
    if found:
        lists["earlier"] = [h["segment_id"] for h in state["hits"]]
    per_query: list[QueryHits] = []
    anchor = state.get("anchor")
    videos = [anchor["video"]] if anchor else state.get("videos")
    for i, q in enumerate(state["queries"]):
        hits = ctx.library.search(q, cfg.k, mode=cfg.search_mode, video=videos)
        hits = [h for h in hits if keeps(anchor, h.video, h.start, h.end)]
        lists[f"q{i}"] = [h.segment_id for h in hits]
        per_query.append({"query": q, "hits": len(hits)})
        for h in hits:
            cur = found.get(h.segment_id)
            if cur is None:
                found[h.segment_id] = Evidence.from_hit(h).to_dict()
            else:
                cur["channels"] = sorted(set(cur["channels"]) | set(h.channels))
                if h.frame_time not in cur["frame_times"]:
                    cur["frame_times"].append(h.frame_time)
    fused = rrf(lists)
    ranked = []
    for sid, score, _names in fused:
        moment = found[sid]
        moment["score"] = round(score, 6)
        ranked.append(moment)
    added = _neighbours(ranked, ctx)
    added = [a for a in added if keeps(anchor, a["video"], a["start"], a["end"])]
    near = _anchored(anchor, ranked + added, ctx) if anchor else []
    ranked = sorted([*ranked, *added, *near], key=lambda m: -m["score"])
    info: Trace = {"round": state.get("round", 0) + 1, "queries": per_query}
    info["neighbours"] = len(added)
    if anchor:
        info["anchored"] = len(near)
    return {"hits": ranked, "round": state.get("round", 0) + 1}, info


def _beside(
    video: str, video_id: int, missing: bool, seg: SegmentRow, score: float, channel: str
) -> Moment:
    """A moment found by where it lies, not by a search: no words, no frames yet (select
    picks them)."""
    return Evidence(
        video=video,
        video_id=video_id,
        segment_id=seg.id,
        start=round(seg.start, 3),
        end=round(seg.end, 3),
        score=score,
        channels=[channel],
        missing=missing,
    ).to_dict()


def _neighbours(ranked: list[Moment], ctx: AgentContext) -> list[Moment]:
    top = ranked[: ctx.config.neighbours]
    if not top:
        return []
    have = {h["segment_id"] for h in ranked}
    adj = lookup.adjacent(ctx.library.catalog, [h["segment_id"] for h in top])
    out: dict[int, Moment] = {}
    for h in top:
        for seg in adj.get(h["segment_id"], []):
            if seg.id in have or seg.id in out:
                continue
            score = round(h["score"] * NEIGHBOUR_DECAY, 6)
            out[seg.id] = _beside(h["video"], h["video_id"], h["missing"], seg, score, "neighbour")
    return list(out.values())


def _anchored(anchor: Anchor, ranked: list[Moment], ctx: AgentContext) -> list[Moment]:
    """The moments right next to the anchor, on its side; already-found ones are promoted."""
    side = "before" if "before" in anchor else "after"
    vid = anchor.get("video_id")
    if vid is None:
        vid = next((v.id for v in ctx.library.videos() if v.path == anchor["video"]), None)
        if vid is None:
            return []
    at = float(anchor["before"] if side == "before" else anchor["after"])
    segs = lookup.beside(ctx.library.catalog, int(vid), at, side, ANCHOR_MOMENTS)
    top = max((h["score"] for h in ranked), default=0.0) or 1.0
    have = {h["segment_id"]: h for h in ranked}
    out = []
    for rank, seg in enumerate(segs):
        # "right before that": the closest moment first; plain "before that": beside the best
        score = round(top * (1.5 if anchor.get("adjacent") else 1.2) / (1 + rank), 6)
        cur = have.get(seg.id)
        if cur is not None:
            cur["score"] = max(cur["score"], score)
            cur["channels"] = sorted({*cur["channels"], "anchor"})
            continue
        out.append(_beside(anchor["video"], int(vid), False, seg, score, "anchor"))
    return out
