"""Catalog reads the agent needs beyond search: adjacent segments, a segment's text and frames."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import and_, or_, select

from vagent.catalog import Catalog
from vagent.catalog.schema import SegmentRow, TextSpanRow
from vagent.types import TextHit

# The words one moment shows an answerer: its spans nearest its focus up to this many
# characters (~500 tokens; a 10 s moment of speech holds ~150).
MOMENT_TEXT_CHARS = 2000


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


def spans_in(catalog: Catalog, moments: list[tuple[int, float, float]]) -> list[list[TextHit]]:
    """For each (video id, start, end): the text spans overlapping it, in time order."""
    if not moments:
        return []
    out: list[list[TextHit]] = [[] for _ in moments]
    cond = or_(
        *[
            and_(TextSpanRow.video_id == v, TextSpanRow.start < e, TextSpanRow.end > s)
            for v, s, e in moments
        ]
    )
    with catalog.session() as sess:
        q = select(TextSpanRow).where(cond).order_by(TextSpanRow.start, TextSpanRow.id)
        rows = sess.scalars(q).all()  # the order ``vagent kv build`` renders them in
    for r in rows:
        for i, (v, s, e) in enumerate(moments):
            if r.video_id == v and r.start < e and r.end > s:
                span: TextHit = {
                    "source": r.source,
                    "start": r.start,
                    "end": r.end,
                    "text": r.text,
                }
                if r.language:  # speech: the language heard
                    span["language"] = r.language
                out[i].append(span)
    return out


def moment_texts(
    spans: list[TextHit], found: list[TextHit], limit: int = MOMENT_TEXT_CHARS
) -> list[TextHit]:
    """A moment's words for the answerer: all its ``spans`` (every source, a speech transcript
    whole) in time order, those search ``found`` in their found form (speech: ``at``, where the
    query's words were said). Over ``limit`` characters, the found spans and then those nearest
    the first found one are kept (in time order), so a long moment costs a bounded prompt (and
    renders unlike its stored KV cache, which is then encoded afresh)."""
    key = _span_key
    have = {key(f): f for f in found}
    merged = [have.pop(key(s), s) for s in spans]
    merged += list(have.values())  # found but not stored under this moment (moved edges)
    merged = [t if len(str(t.get("text", ""))) <= limit else _cut(t, limit) for t in merged]
    merged.sort(key=lambda t: float(t.get("start", 0.0)))  # stable: stored order among ties
    if sum(len(str(t.get("text", ""))) for t in merged) <= limit:
        return merged
    focus = float(found[0].get("at", found[0].get("start", 0.0))) if found else None
    if focus is None and merged:
        focus = float(merged[0].get("start", 0.0))
    matched = {key(f) for f in found}

    def rank(i: int) -> tuple[bool, float]:
        t = merged[i]
        mid = (float(t.get("start", 0.0)) + float(t.get("end", 0.0))) / 2
        return key(t) not in matched, abs(mid - (focus or 0.0))

    kept: set[int] = set()
    used = 0
    for i in sorted(range(len(merged)), key=rank):
        n = len(str(merged[i].get("text", "")))
        if used + n > limit and kept:
            continue
        kept.add(i)
        used += n
    return [merged[i] for i in sorted(kept)]


def _cut(t: TextHit, limit: int) -> TextHit:
    return {**t, "text": str(t["text"])[:limit] + " ..."}


def _span_key(t: TextHit) -> tuple[str, float, float, str]:
    start, end = round(float(t.get("start", 0.0)), 3), round(float(t.get("end", 0.0)), 3)
    return str(t.get("source", "")), start, end, str(t.get("text", ""))[:200]


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
