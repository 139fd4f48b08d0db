"""Catalog reads the agent needs beyond search: adjacent segments, a segment's text and frames."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, or_, select

from vagent.catalog import Catalog
from vagent.catalog.schema import SegmentRow, TextSpanRow


def adjacent(catalog: Catalog, segment_ids: list[int]) -> dict[int, list[SegmentRow]]:
    """segment id -> the segments right before and after it in the same video (0 to 2)."""
    segs = catalog.segments_by_id(segment_ids)
    out: dict[int, list[SegmentRow]] = {}
    with catalog.session() as s:
        for sid, seg in segs.items():
            before = s.scalars(
                select(SegmentRow)
                .where(SegmentRow.video_id == seg.video_id, SegmentRow.start < seg.start)
                .order_by(SegmentRow.start.desc())
                .limit(1)
            ).all()
            after = s.scalars(
                select(SegmentRow)
                .where(SegmentRow.video_id == seg.video_id, SegmentRow.start > seg.start)
                .order_by(SegmentRow.start)
                .limit(1)
            ).all()
            out[sid] = [*before, *after]
    return out


def spans_in(
    catalog: Catalog, moments: list[tuple[int, float, float]]
) -> list[list[dict[str, Any]]]:
    """For each (video id, start, end): the text spans overlapping it, in time order."""
    if not moments:
        return []
    out: list[list[dict[str, Any]]] = [[] for _ in moments]
    cond = or_(
        *[
            and_(TextSpanRow.video_id == v, TextSpanRow.start < e, TextSpanRow.end > s)
            for v, s, e in moments
        ]
    )
    with catalog.session() as sess:
        rows = sess.scalars(select(TextSpanRow).where(cond).order_by(TextSpanRow.start)).all()
    for r in rows:
        for i, (v, s, e) in enumerate(moments):
            if r.video_id == v and r.start < e and r.end > s:
                out[i].append({"source": r.source, "start": r.start, "end": r.end, "text": r.text})
    return out


def frame_times(catalog: Catalog, segment_ids: list[int]) -> dict[int, list[float]]:
    """segment id -> the times of its indexed frames, ascending."""
    out: dict[int, list[float]] = defaultdict(list)
    for f in catalog.frames_of_segments(sorted(set(segment_ids))):
        out[f.segment_id].append(f.time)
    return {k: sorted(v) for k, v in out.items()}


def video_durations(catalog: Catalog, video_ids: list[int]) -> dict[int, float]:
    return {vid: v.duration for vid, v in catalog.videos_by_id(video_ids).items()}


def beside(catalog: Catalog, video_id: int, t: float, side: str, n: int = 2) -> list[SegmentRow]:
    """The ``n`` segments of a video closest to time ``t`` on one ``side`` ("before": ending by
    ``t``; "after": starting from ``t``), the closest first."""
    with catalog.session() as s:
        if side == "before":
            q = (
                select(SegmentRow)
                .where(SegmentRow.video_id == video_id, SegmentRow.end <= t + 0.5)
                .order_by(SegmentRow.start.desc())
            )
        else:
            q = (
                select(SegmentRow)
                .where(SegmentRow.video_id == video_id, SegmentRow.start >= t - 0.5)
                .order_by(SegmentRow.start)
            )
        return list(s.scalars(q.limit(n)).all())
