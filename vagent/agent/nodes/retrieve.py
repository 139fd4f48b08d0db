"""retrieve: search the library for every sub-query, fuse the lists (reciprocal rank fusion,
with what earlier rounds found as one more list), and add the neighbours of the top moments.

A follow-up anchored on the thread ("right before that", see ``followup``) keeps only the
moments on the anchor's side of the earlier citation, in its video, and adds the moments right
next to it (channel ``anchor``), the closest ranked first when the follow-up says "right"."""

from __future__ import annotations

from typing import Any

from vagent.agent import lookup
from vagent.agent.context import AgentContext
from vagent.agent.followup import keeps
from vagent.fusion import rrf

NEIGHBOUR_DECAY = 0.5
ANCHOR_MOMENTS = 2


def retrieve(state: dict[str, Any], ctx: AgentContext) -> tuple[dict[str, Any], dict[str, Any]]:
    cfg = ctx.config
    lists: dict[str, list[int]] = {}
    found: dict[int, dict[str, Any]] = {h["segment_id"]: dict(h) for h in state.get("hits") or []}
    if found:
        lists["earlier"] = [h["segment_id"] for h in state["hits"]]
    per_query = []
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
                found[h.segment_id] = {
                    "video": h.video,
                    "video_id": h.video_id,
                    "segment_id": h.segment_id,
                    "start": h.start,
                    "end": h.end,
                    "score": 0.0,
                    "channels": list(h.channels),
                    "texts": list(h.texts),
                    "frame_times": [h.frame_time],
                    "missing": h.missing,
                }
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
    info = {"round": state.get("round", 0) + 1, "queries": per_query, "neighbours": len(added)}
    if anchor:
        info["anchored"] = len(near)
    return {"hits": ranked, "round": state.get("round", 0) + 1}, info


def _neighbours(ranked: list[dict[str, Any]], ctx: AgentContext) -> list[dict[str, Any]]:
    top = ranked[: ctx.config.neighbours]
    if not top:
        return []
    have = {h["segment_id"] for h in ranked}
    adj = lookup.adjacent(ctx.library.catalog, [h["segment_id"] for h in top])
    out: dict[int, dict[str, Any]] = {}
    for h in top:
        for seg in adj.get(h["segment_id"], []):
            if seg.id in have or seg.id in out:
                continue
            out[seg.id] = {
                "video": h["video"],
                "video_id": h["video_id"],
                "segment_id": seg.id,
                "start": round(seg.start, 3),
                "end": round(seg.end, 3),
                "score": round(h["score"] * NEIGHBOUR_DECAY, 6),
                "channels": ["neighbour"],
                "texts": [],
                "frame_times": [],
                "missing": h["missing"],
            }
    return list(out.values())


def _anchored(
    anchor: dict[str, Any], ranked: list[dict[str, Any]], ctx: AgentContext
) -> list[dict[str, Any]]:
    """The moments right next to the anchor, on its side; already-found ones are promoted."""
    side = "before" if "before" in anchor else "after"
    vid = anchor.get("video_id")
    if vid is None:
        vid = next((v.id for v in ctx.library.videos() if v.path == anchor["video"]), None)
        if vid is None:
            return []
    segs = lookup.beside(ctx.library.catalog, int(vid), float(anchor[side]), side, ANCHOR_MOMENTS)
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
        out.append(
            {
                "video": anchor["video"],
                "video_id": int(vid),
                "segment_id": seg.id,
                "start": round(seg.start, 3),
                "end": round(seg.end, 3),
                "score": score,
                "channels": ["anchor"],
                "texts": [],
                "frame_times": [],
                "missing": False,
            }
        )
    return out
