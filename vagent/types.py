"""Plain records passed between the core and plugins. Names follow the user's words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What a decoder learns from a file's headers (and a short look at its packets).

    ``duration`` is in seconds as the container declares it; ``keyframe_interval`` is the median
    spacing of keyframes in seconds over the probed packets (None when it could not be measured).
    """

    path: str
    duration: float
    fps: float
    width: int
    height: int
    codec: str
    frame_count: int | None = None
    keyframe_interval: float | None = None


@dataclass
class FrameBatch:
    """Frames sampled from one video: ``times`` (n,) seconds, ``images`` (n, h, w, 3) uint8 RGB;
    ``encoded``: after encoding with dedupe, which frames were encoded (the rest reuse the
    vector of the last frame encoded)."""

    times: np.ndarray
    images: np.ndarray
    encoded: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.times.shape[0])


@dataclass(frozen=True)
class SegmentSpan:
    """A segmenter's output: a time range and the indices of the sampled frames inside it."""

    start: float
    end: float
    frames: tuple[int, ...]


@dataclass(frozen=True)
class TextSpan:
    """Words tied to a time range of a video: ``source`` is subtitle, ocr or caption."""

    start: float
    end: float
    source: str
    text: str


class _TextHitFields(TypedDict):
    source: str
    start: float
    end: float
    text: str


class TextHit(_TextHitFields, total=False):
    """A text span as a search hit quotes it, and as a moment carries it to a citation: its
    ``source`` (subtitle, ocr, caption, speech), ``start`` and ``end`` in seconds and ``text``
    (cut at 2000 characters, `` ...`` marking the cut). Speech adds ``at``, where the query's
    words were said, and ``language``, the language heard (when it was said). JSON-able."""

    at: float
    language: str


@dataclass
class Hit:
    """One search result: a moment of a video.

    In visual mode ``score`` is the cosine similarity of the segment's best frame to the query
    and ``frame_time`` that frame's time; in text and hybrid modes ``score`` is the fused
    reciprocal-rank score and ``frame_time`` the best frame (semantic visual encoders) or the
    start of the best matching text. ``segment_score`` is the segment mean's cosine similarity
    (None where it was not computed).
    ``channels`` says which searches found the segment (visual, text, lexical); ``texts`` holds
    the matching text spans inside it (``TextHit``).
    """

    video: str
    start: float
    end: float
    score: float
    segment_id: int
    frame_time: float
    segment_score: float | None
    video_id: int
    missing: bool = False
    channels: list[str] = field(default_factory=lambda: ["visual"])
    texts: list[TextHit] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IndexReport:
    """What one ``Library.index`` run did, per file: indexed, skipped, moved, replaced, failed,
    text_redone."""

    indexed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    # unchanged (or moved) videos whose sidecar subtitles changed: text track redone
    text_redone: list[str] = field(default_factory=list)
    # files that grew by appending (a recording being written): only their new frames encoded
    grown: list[str] = field(default_factory=list)
    video_seconds: float = 0.0
    wall_seconds: float = 0.0
    text_spans: int = 0
    ocr_frames_read: int = 0
    ocr_frames_reused: int = 0
    # sampled frames encoded, and those that reused the last encoded frame's vector (dedupe)
    frames_encoded: int = 0
    frames_reused: int = 0
    # with --ray: videos encoded per Ray node id
    nodes: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def did_something(self) -> bool:
        """Some file is in (indexed, replaced, moved, grown) or was already (skipped)."""
        return bool(self.indexed or self.replaced or self.moved or self.skipped or self.grown)

    @property
    def exit_code(self) -> int:
        """What ``vagent index`` exits with: 0; 1 some files failed, the rest are in; 2 nothing
        was done."""
        if not self.failed:
            return 0
        return 1 if self.did_something else 2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["failed"] = [{"path": p, "reason": r} for p, r in self.failed]
        d["moved"] = [{"from": a, "to": b} for a, b in self.moved]
        return d


class _MomentFields(TypedDict):
    video: str
    video_id: int
    segment_id: int
    start: float
    end: float
    score: float
    channels: list[str]
    texts: list[TextHit]
    frame_times: list[float]
    missing: bool


class Moment(_MomentFields, total=False):
    """One moment of a video as plain data, from a search hit to a citation: what the agent's
    state holds for a candidate (``hits``) and a chosen moment (``evidence``), and what
    ``Evidence.to_dict`` writes. JSON-able, so threads can be checkpointed.

    ``score``: the fused relevance. ``channels``: which searches found it (visual, text,
    lexical; ``neighbour``: next to a hit; ``anchor``: next to a follow-up's earlier moment).
    ``texts``: its text spans (source, start, end, text; ``at`` for speech). ``frame_times``:
    its frames (the best-matching first until select sorts them). ``missing``: its source file
    is gone. ``kv``: the key of the stored KV cache gather loaded for it, when one was (the
    only key a moment may lack).
    """

    kv: str


@dataclass
class Evidence:
    """One moment the agent shows an answerer: a time range of an indexed video.

    ``texts``: the subtitle/OCR/caption spans inside it (source, start, end, text).
    ``frame_times``: the frames chosen for it (seconds); ``frames`` the decoded pixels at those
    times, (n, h, w, 3) uint8 RGB, or None when not gathered (the answerer reads text only) or
    the source file is gone (``missing``). ``kv``: a stored KV cache handle, when one is used.
    """

    video: str
    video_id: int
    segment_id: int
    start: float
    end: float
    score: float
    channels: list[str] = field(default_factory=list)
    texts: list[TextHit] = field(default_factory=list)
    frame_times: list[float] = field(default_factory=list)
    frames: np.ndarray | None = None
    missing: bool = False
    kv: Any = None

    def to_dict(self) -> Moment:
        """JSON-safe: everything but the pixels and the cache handle."""
        return {
            "video": self.video,
            "video_id": self.video_id,
            "segment_id": self.segment_id,
            "start": self.start,
            "end": self.end,
            "score": self.score,
            "channels": list(self.channels),
            "texts": list(self.texts),
            "frame_times": list(self.frame_times),
            "missing": self.missing,
        }

    @classmethod
    def from_dict(cls, m: Moment) -> Evidence:
        """The moment ``m`` as an answerer sees it, without pixels or cache (``to_dict``'s
        inverse; a moment of an older thread may lack the optional lists)."""
        return cls(
            video=m["video"],
            video_id=m["video_id"],
            segment_id=m["segment_id"],
            start=m["start"],
            end=m["end"],
            score=m["score"],
            channels=list(m.get("channels") or []),
            texts=list(m.get("texts") or []),
            frame_times=list(m.get("frame_times") or []),
            missing=bool(m.get("missing")),
        )

    @classmethod
    def from_hit(cls, h: Hit) -> Evidence:
        """A search hit as a moment: its best frame first, its matching spans."""
        return cls(
            video=h.video,
            video_id=h.video_id,
            segment_id=h.segment_id,
            start=h.start,
            end=h.end,
            score=h.score,
            channels=list(h.channels),
            texts=list(h.texts),
            frame_times=[h.frame_time],
            missing=h.missing,
        )


@dataclass
class Question:
    """What an answerer is asked: the question, its options (multiple choice) and the evidence.

    ``options`` are the option texts without their letters (A, B, ... follow their order);
    None for an open question. ``evidence`` is in temporal order. ``history`` holds earlier turns
    of the same conversation as {"question", "answer"} dicts, oldest first.
    """

    text: str
    options: list[str] | None = None
    evidence: list[Evidence] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Draft:
    """An answerer's reply to one ``Question``.

    ``text``: the answer; for multiple choice it starts with the option letter. ``choice``: the
    chosen option's index (None for open questions). ``confidence``: 0..1, or None where the
    answerer cannot say. ``option_scores``: a probability per option, where the answerer has
    them. ``used``: indices into ``Question.evidence`` the answer rests on (empty: all of it).
    ``meta``: model id, token counts, and ``semantic: False`` for random-weight models.
    """

    text: str
    choice: int | None = None
    confidence: float | None = None
    option_scores: list[float] | None = None
    used: list[int] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
