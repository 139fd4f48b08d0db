"""The text channels of search: dense text (span vectors above a similarity floor) and lexical
(BM25 over the spans), each a ranking of the segments that hold the matching spans, with the
spans quoted as evidence."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from vagent.catalog import Catalog, SegmentRow, TextSpanRow, VideoRow
from vagent.search.lexical import Bm25
from vagent.text.speech import load_words, word_time
from vagent.types import TextHit
from vagent.vectors import VectorSet

# A span "matches" the dense-text channel only above this cosine similarity (MiniLM: unrelated
# sentences score about 0-0.15, related words ~0.23, paraphrases 0.3 and up). Without it the
# channel would vote for every segment with any text in it.
DENSE_MIN_SIMILARITY = 0.25


@dataclass
class TextState:
    """What the text channels need of one library generation, loaded once per generation."""

    span_ids: np.ndarray
    span_video: np.ndarray
    spans: list[dict[str, Any]]
    bm25: Bm25
    segments: dict[int, tuple[list[float], list[int]]]  # video id -> (starts, segment ids)
    index_of: dict[int, int]  # span id -> position in ``spans``

    @classmethod
    def load(cls, catalog: Catalog, library_id: int) -> TextState:
        with catalog.reading() as s:
            vids = select(VideoRow.id).where(VideoRow.library_id == library_id)
            rows = list(
                s.execute(
                    select(TextSpanRow)
                    .where(TextSpanRow.video_id.in_(vids))
                    .order_by(TextSpanRow.id)
                ).scalars()
            )
            segs = s.execute(
                select(SegmentRow.video_id, SegmentRow.start, SegmentRow.id)
                .where(SegmentRow.video_id.in_(vids))
                .order_by(SegmentRow.video_id, SegmentRow.start)
            ).all()
        table: dict[int, tuple[list[float], list[int]]] = defaultdict(lambda: ([], []))
        for vid, start, sid in segs:
            table[vid][0].append(start)
            table[vid][1].append(sid)
        spans = [
            {
                "id": r.id,
                "video_id": r.video_id,
                "source": r.source,
                "start": r.start,
                "end": r.end,
                "text": r.text,
                "words": r.words,  # speech: JSON word times, parsed when a span is quoted
                "language": r.language,  # speech: the language heard (None: not said)
            }
            for r in rows
        ]
        return cls(
            span_ids=np.array([r.id for r in rows], np.int64),
            span_video=np.array([r.video_id for r in rows], np.int64),
            spans=spans,
            bm25=Bm25([r.text for r in rows]),
            segments=dict(table),
            index_of={r.id: i for i, r in enumerate(rows)},
        )

    def segment_of(self, span: dict[str, Any]) -> int | None:
        """The segment holding the span's middle (or the nearest one before it)."""
        starts, ids = self.segments.get(span["video_id"], ([], []))
        if not ids:
            return None
        mid = (span["start"] + span["end"]) / 2
        return ids[max(0, bisect.bisect_right(starts, mid) - 1)]


# A hit quotes at most this much of one span: new spans are stored at <= 500 characters
# (vagent.text.limits), but a library indexed before that may hold megabytes in one.
QUOTE_CHARS = 2000


def _span_view(span: dict[str, Any], query: str = "") -> TextHit:
    text = span["text"]
    if len(text) > QUOTE_CHARS:
        text = text[:QUOTE_CHARS] + " ..."
    view: TextHit = {
        "source": span["source"],
        "start": span["start"],
        "end": span["end"],
        "text": text,
    }
    if span.get("words"):  # speech: ``at`` is where the query's words were said
        at = word_time(load_words(span["words"]), query)
        view["at"] = span["start"] if at is None else at
    if span.get("language"):
        view["language"] = span["language"]
    return view


def text_channels(
    state: TextState,
    vectors: VectorSet,
    query: str,
    text_q: np.ndarray,
    width: int,
    videos: set[int] | None,
) -> tuple[dict[str, list[int]], dict[int, list[TextHit]]]:
    """Ranked segment ids per text channel, and the matching spans per segment."""
    allowed = None
    if videos is not None:
        allowed = state.span_ids[np.isin(state.span_video, list(videos))]
    index_of = state.index_of
    dense: list[int] = []
    if vectors.texts is not None and len(state.span_ids):
        scores, ids = vectors.texts.search(text_q.reshape(1, -1), width, allowed)
        dense = [
            index_of[int(i)]
            for s, i in zip(scores[0], ids[0])
            if i >= 0 and int(i) in index_of and s >= DENSE_MIN_SIMILARITY
        ]
    lexical = [
        i
        for i, _ in state.bm25.search(query, len(state.bm25))
        if videos is None or int(state.span_video[i]) in videos
    ][:width]
    channels: dict[str, list[int]] = {}
    evidence: dict[int, list[TextHit]] = defaultdict(list)
    for name, span_rank in (("text", dense), ("lexical", lexical)):
        ranked: list[int] = []
        for i in span_rank:
            span = state.spans[i]
            seg = state.segment_of(span)
            if seg is None:
                continue
            ranked.append(seg)
            view = _span_view(span, query)
            if view not in evidence[seg]:
                evidence[seg].append(view)
        channels[name] = ranked
    return channels, evidence
