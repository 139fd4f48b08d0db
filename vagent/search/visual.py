"""Visual search: query vector -> top segments (segment index) and top frames (frame index),
merged, then every candidate segment is rescored by its best frame. Also the piece hybrid
search reuses: best frames of given segments."""

from __future__ import annotations

import numpy as np

from vagent.catalog import Catalog
from vagent.search.hits import Ranked, to_hits
from vagent.types import Hit
from vagent.vectors import VectorSet


def best_frames(
    catalog: Catalog, vectors: VectorSet, q: np.ndarray, segment_ids: list[int]
) -> dict[int, tuple[float, float]]:
    """segment id -> (best frame similarity to ``q`` (dim,), that frame's time)."""
    if not segment_ids:
        return {}
    frames = catalog.frames_of_segments(sorted(set(segment_ids)))
    if vectors.stale:  # an older generation's vectors: rows added since have none
        frames = [f for f in frames if f.id in vectors.held("frames")]
    fvecs = vectors.frames.reconstruct(np.array([f.id for f in frames], np.int64))
    sims = fvecs @ q
    best: dict[int, tuple[float, float]] = {}
    for f, s in zip(frames, sims):
        cur = best.get(f.segment_id)
        if cur is None or s > cur[0]:
            best[f.segment_id] = (float(s), f.time)
    return best


def visual_ranking(
    catalog: Catalog,
    vectors: VectorSet,
    q: np.ndarray,
    width: int,
    allowed: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Ranked]:
    """Segments near ``q`` (dim,) by their mean vector or by one of their frames, ranked by
    their best frame. ``allowed`` = (segment ids, frame ids) to restrict to."""
    q2 = q.reshape(1, -1).astype(np.float32)
    seg_scores, seg_ids = vectors.segments.search(q2, width, allowed[0] if allowed else None)
    _, frm_ids = vectors.frames.search(q2, width, allowed[1] if allowed else None)
    seg_score = {int(i): float(s) for s, i in zip(seg_scores[0], seg_ids[0]) if i >= 0}
    if vectors.stale:  # vectors of segments removed since have no rows
        present = catalog.segments_by_id(list(seg_score))
        seg_score = {i: s for i, s in seg_score.items() if i in present}
    candidates = set(seg_score)
    frame_hits = [int(i) for i in frm_ids[0] if i >= 0]
    if frame_hits:
        candidates |= {f.segment_id for f in catalog.frames_by_id(frame_hits)}
    best = best_frames(catalog, vectors, q, sorted(candidates))
    missing = [sid for sid in candidates if sid not in seg_score]
    if vectors.stale:
        missing = [sid for sid in missing if sid in vectors.held("segments")]
    if missing:
        svecs = vectors.segments.reconstruct(np.array(missing, np.int64))
        seg_score.update({sid: float(v @ q) for sid, v in zip(missing, svecs)})
    ranked = [
        Ranked(sid, s, t, seg_score.get(sid, float("nan")), ["visual"])
        for sid, (s, t) in best.items()
    ]
    return sorted(ranked, key=lambda r: (-r.score, r.segment_id))


def search_vectors(
    catalog: Catalog,
    vectors: VectorSet,
    query: np.ndarray,
    k: int,
    allowed: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Hit]:
    """Visual-only search: the ``k`` best segments for ``query`` (dim,) normalised."""
    return to_hits(catalog, visual_ranking(catalog, vectors, query, max(4 * k, 32), allowed)[:k])
