"""Bounds on a video's subtitle text, so a hostile or broken file costs bounded time and memory.

A sidecar is read up to ``MAX_FILE_BYTES``; a cue keeps at most ``MAX_CUE_CHARS`` characters
and is stored as spans of at most ``PIECE_CHARS`` (the text embedder reads ~256 tokens, so a
longer span would be embedded by its start only); a video keeps at most ``cue_limit(duration)``
spans; cues that start after the video's end are dropped and ends are clipped to it. Each bound
that bites is said in one line (a ``Problem``), never silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from vagent.types import TextSpan

MAX_FILE_BYTES = 16 * 2**20
MAX_CUE_CHARS = 4000
PIECE_CHARS = 500
BASE_CUES = 1000
CUES_PER_SECOND = 4
MAX_CUES = 100_000
MAX_PROBLEMS = 20  # per file; the rest are counted in one more line


@dataclass(frozen=True)
class Problem:
    """Something wrong in a subtitle source: ``file``, 1-based ``line`` (None: the whole file)."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


def cue_limit(duration: float | None) -> int:
    """Spans kept per video: ``BASE_CUES`` plus ``CUES_PER_SECOND`` per second, at most
    ``MAX_CUES`` (a 5-second clip keeps 1,020; a 10-hour film 100,000)."""
    if duration is None or not duration > 0:
        return MAX_CUES
    return int(min(MAX_CUES, BASE_CUES + CUES_PER_SECOND * duration))


def cap_problems(problems: list[Problem], name: str) -> list[Problem]:
    """At most ``MAX_PROBLEMS`` lines for one file, then one line counting the rest."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS + 1
    more = Problem(name, None, f"... and {rest:,} more problems in this file (not shown)")
    return [*problems[: MAX_PROBLEMS - 1], more]


def chunks(text: str, size: int = PIECE_CHARS) -> list[tuple[int, str]]:
    """``text`` cut into ``(offset, piece)`` of at most ``size`` characters, at a space where
    there is one (a word longer than ``size`` is cut inside)."""
    out: list[tuple[int, str]] = []
    i, n = 0, len(text)
    while i < n:
        j = min(i + size, n)
        if j < n:
            k = text.rfind(" ", i + 1, j + 1)
            j = k if k > i else j
        piece = text[i:j].strip()
        if piece:
            out.append((i, piece))
        i = j
    return out


def split_span(span: TextSpan, size: int = PIECE_CHARS) -> list[TextSpan]:
    """A span whose text is longer than ``size`` as consecutive spans sharing its time range in
    proportion to their characters."""
    if len(span.text) <= size:
        return [span]
    n = len(span.text)
    parts = chunks(span.text, size)
    length = span.end - span.start
    out = []
    for idx, (off, piece) in enumerate(parts):
        nxt = parts[idx + 1][0] if idx + 1 < len(parts) else n
        start, end = span.start + length * off / n, span.start + length * nxt / n
        out.append(replace(span, start=start, end=end if end > start else span.end, text=piece))
    return out


def limit_spans(
    spans: Sequence[TextSpan],
    duration: float | None,
    name: str,
    kind: str = "subtitle",
    unit: str = "cue",
) -> tuple[list[TextSpan], list[Problem]]:
    """Bound a video's subtitle spans (sorted by start) and say which bounds bit: past-the-end
    cues dropped (ends clipped to ``duration``), long cues cut and split, the count capped.
    ``kind`` and ``unit`` name what is bounded in those lines (speech: ``speech``, ``span``)."""
    problems: list[Problem] = []
    kept = list(spans)
    if duration is not None and duration > 0:
        late = [s for s in kept if s.start >= duration]
        if late:
            first = min(s.start for s in late)
            problems.append(
                Problem(
                    name,
                    None,
                    f"{len(late):,} {kind} {unit}(s) start after the video's end "
                    f"({duration:.1f}s; the first at {first:.1f}s); dropped",
                )
            )
            kept = [s for s in kept if s.start < duration]
        kept = [replace(s, end=min(s.end, duration)) if s.end > duration else s for s in kept]
    long = [s for s in kept if len(s.text) > PIECE_CHARS]
    if long:
        cut = sum(len(s.text) > MAX_CUE_CHARS for s in long)
        what = f"{len(long):,} {unit}(s) longer than {PIECE_CHARS} characters split into spans"
        if cut:
            what += f" ({cut:,} cut at {MAX_CUE_CHARS:,} characters first)"
        problems.append(Problem(name, None, what))
        kept = [
            piece
            for s in kept
            for piece in split_span(
                replace(s, text=s.text[:MAX_CUE_CHARS]) if len(s.text) > MAX_CUE_CHARS else s
            )
        ]
    limit = cue_limit(duration)
    if len(kept) > limit:
        problems.append(
            Problem(
                name,
                None,
                f"{len(kept):,} {kind} spans; kept the first {limit:,} (at most {BASE_CUES:,} "
                f"+ {CUES_PER_SECOND} per second of video, {MAX_CUES:,} in all)",
            )
        )
        kept = kept[:limit]
    return kept, problems
