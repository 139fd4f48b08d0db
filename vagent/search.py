"""Search: query text -> top segments (segment index) and top frames (frame index), merged, then
every candidate segment is rescored by its best frame. Hits carry that frame's time."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from vagent.catalog import Catalog
from vagent.types import Hit
from vagent.vectors import VectorSet


def search_vectors(
    catalog: Catalog,
    vectors: VectorSet,
    query: np.ndarray,
    k: int,
    allowed: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Hit]:
    """``query`` (dim,) normalised; ``allowed`` = (segment ids, frame ids) to restrict to."""
    q = query.reshape(1, -1).astype(np.float32)
    width = max(4 * k, 32)
    seg_scores, seg_ids = vectors.segments.search(q, width, allowed[0] if allowed else None)
    _frm_scores, frm_ids = vectors.frames.search(q, width, allowed[1] if allowed else None)
    seg_score = {int(i): float(s) for s, i in zip(seg_scores[0], seg_ids[0]) if i >= 0}
    frame_hits = [int(i) for i in frm_ids[0] if i >= 0]

    candidate_segments = set(seg_score)
    if frame_hits:
        for f in catalog.frames_by_id(frame_hits):
            candidate_segments.add(f.segment_id)
    if not candidate_segments:
        return []
    frames = catalog.frames_of_segments(sorted(candidate_segments))
    fvecs = vectors.frames.reconstruct(np.array([f.id for f in frames], np.int64))
    sims = fvecs @ q[0]
    best: dict[int, tuple[float, float]] = {}
    for f, s in zip(frames, sims):
        cur = best.get(f.segment_id)
        if cur is None or s > cur[0]:
            best[f.segment_id] = (float(s), f.time)
    missing_seg = [sid for sid in candidate_segments if sid not in seg_score]
    if missing_seg:
        svecs = vectors.segments.reconstruct(np.array(missing_seg, np.int64))
        seg_score.update({sid: float(v @ q[0]) for sid, v in zip(missing_seg, svecs)})

    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
    segs = catalog.segments_by_id([sid for sid, _ in ranked])
    videos = catalog.videos_by_id(list({segs[sid].video_id for sid, _ in ranked}))
    exists: dict[int, bool] = defaultdict(bool)
    for vid, v in videos.items():
        exists[vid] = Path(v.path).exists()
    hits = []
    for sid, (score, t) in ranked:
        seg = segs[sid]
        video = videos[seg.video_id]
        hits.append(
            Hit(
                video=video.path,
                start=round(seg.start, 3),
                end=round(seg.end, 3),
                score=round(score, 6),
                segment_id=sid,
                frame_time=round(t, 3),
                segment_score=round(seg_score.get(sid, float("nan")), 6),
                video_id=video.id,
                missing=not exists[video.id],
            )
        )
    return hits
