"""Ranked segments on their way to becoming hits, and the hits they become (video, times,
score, the channels that found them and the text they matched)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vagent.catalog import Catalog
from vagent.types import Hit, TextHit


@dataclass
class Ranked:
    """A segment on its way to becoming a hit."""

    segment_id: int
    score: float
    frame_time: float | None = None
    segment_score: float = float("nan")
    channels: list[str] = field(default_factory=list)
    texts: list[TextHit] = field(default_factory=list)


def to_hits(catalog: Catalog, ranked: list[Ranked]) -> list[Hit]:
    """Attach videos and times to ranked segments (in the given order)."""
    if not ranked:
        return []
    segs = catalog.segments_by_id([r.segment_id for r in ranked])
    ranked = [r for r in ranked if r.segment_id in segs]  # (older vectors: rows gone since)
    videos = catalog.videos_by_id(list({segs[r.segment_id].video_id for r in ranked}))
    # a live stream's item (its path a URL) is never a missing file
    exists = {
        vid: v.decode_strategy == "live" or Path(v.path).exists() for vid, v in videos.items()
    }
    hits = []
    for r in ranked:
        seg = segs[r.segment_id]
        video = videos[seg.video_id]
        t = seg.start if r.frame_time is None else r.frame_time
        hits.append(
            Hit(
                video=video.path,
                start=round(seg.start, 3),
                end=round(seg.end, 3),
                score=round(r.score, 6),
                segment_id=r.segment_id,
                frame_time=round(t, 3),
                segment_score=None if np.isnan(r.segment_score) else round(r.segment_score, 6),
                video_id=video.id,
                missing=not exists[video.id],
                channels=r.channels,
                texts=r.texts,
            )
        )
    return hits
