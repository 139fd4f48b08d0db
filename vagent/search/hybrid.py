"""Text and hybrid search: the dense-text and lexical channels (vagent.search.text) fused with
the visual channel (vagent.search.visual) by reciprocal rank fusion (vagent.search.fusion).

Each channel lists only what it matched: visual its top ``width`` by similarity, dense text its
top spans above a similarity floor, lexical only spans that share a term with the query.
"""

from __future__ import annotations

import numpy as np

from vagent.catalog import Catalog
from vagent.search.fusion import rrf
from vagent.search.hits import Ranked
from vagent.search.text import TextState, text_channels
from vagent.search.visual import best_frames, visual_ranking
from vagent.vectors import VectorSet

MODES = ("visual", "text", "hybrid")
DEFAULT_WEIGHTS = {"visual": 1.0, "text": 1.0, "lexical": 1.0}


def hybrid_ranking(
    catalog: Catalog,
    vectors: VectorSet,
    state: TextState,
    query: str,
    visual_q: np.ndarray | None,
    text_q: np.ndarray,
    k: int,
    mode: str,
    weights: dict[str, float],
    allowed: tuple[np.ndarray, np.ndarray] | None,
    videos: set[int] | None,
    visual_semantic: bool,
) -> list[Ranked]:
    width = max(4 * k, 32)
    channels, evidence = text_channels(state, vectors, query, text_q, width, videos)
    visual: list[Ranked] = []
    if mode == "hybrid" and weights.get("visual", 0) > 0 and visual_q is not None:
        visual = visual_ranking(catalog, vectors, visual_q, width, allowed)
        channels["visual"] = [r.segment_id for r in visual]
    fused = rrf(channels, weights)[:k]
    # the visual ranking already rescored its segments; rescore only the ones it did not find
    frames = {r.segment_id: (r.score, r.frame_time) for r in visual}
    others = [sid for sid, _, _ in fused if sid not in frames]
    if visual_q is not None:  # None: no visual query (a random-weight encoder is not loaded)
        frames.update(best_frames(catalog, vectors, visual_q, others))
    seg_score = {r.segment_id: r.segment_score for r in visual}
    out = []
    for sid, score, found in fused:
        texts = evidence.get(sid, [])
        # where to look: the best frame when frames carry meaning, else the best text's start
        best_text = texts[0]["start"] if texts and not visual_semantic else None
        if texts and "at" in texts[0]:  # speech: the matching words, whatever the frames say
            best_text = texts[0]["at"]
        t = best_text if best_text is not None else frames.get(sid, (0.0, None))[1]
        out.append(Ranked(sid, score, t, seg_score.get(sid, float("nan")), found, texts))
    return out
