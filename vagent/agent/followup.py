"""Follow-ups: a question that leans on the thread, resolved against its last turn.

"And right before that?" after an answer that cited ``cook.mp4 0:40-0:50`` means the moments
of ``cook.mp4`` before 0:40, the closest first: ``resolve`` returns that as an *anchor*
(retrieve keeps the search to that side of the earlier citation and adds the moments right
next to it) and rewrites the question for the answerer ("And right before 0:40 in cook.mp4?").
An elliptical follow-up ("and after that?", "why?") carries the earlier question along, so the
answerer knows what is being asked; the earlier *answer* is never handed on as something to
repeat.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vagent.agent.grounding import content_words
from vagent.agent.state import Anchor, Cited, Turn
from vagent.timefmt import clock

_REF = r"(?:that|this|it|then|those|them|there|the\s+last\s+one)"
_ANCHOR = re.compile(
    rf"\b(?P<adj>right\s+|just\s+|immediately\s+|directly\s+)?"
    rf"(?P<dir>before|after|prior\s+to|earlier\s+than|later\s+than)\s+{_REF}\b",
    re.I,
)
_NEXT = re.compile(r"\b(?P<dir>next|afterwards|afterward|later|earlier|previously)\b", re.I)
_PRONOUN = re.compile(r"\b(?:that|this|it|they|them|those|there|he|she|his|her|then)\b", re.I)


def _side(word: str) -> str:
    w = word.lower()
    return "before" if w.startswith(("before", "prior", "earlier", "previous")) else "after"


def is_follow_up(question: str, turns: Sequence[Turn]) -> bool:
    """Whether ``question`` leans on the thread: it refers back ("that", "then", "next") or is
    too short to stand alone."""
    if not turns:
        return False
    return bool(
        _ANCHOR.search(question)
        or _NEXT.search(question)
        or _PRONOUN.search(question)
        or len(content_words(question)) <= 1
    )


def cited(turn: Turn) -> list[Cited]:
    """A turn's citations that the answer rested on (not near misses)."""
    return [c for c in turn.get("citations") or [] if not c.get("near_miss")]


def resolve(question: str, turns: Sequence[Turn]) -> tuple[str, Anchor | None]:
    """``(resolved question, anchor or None)`` for ``question`` asked after ``turns``."""
    if not is_follow_up(question, turns):
        return question, None
    last = turns[-1]
    resolved: str = question
    anchor: Anchor | None = None
    m = _ANCHOR.search(question)
    n = None if m else _NEXT.search(question)
    found = m or n
    # "that" is the latest moment an answer rested on (an abstained turn has none)
    moments = next((cited(t) for t in reversed(turns) if cited(t)), [])
    if found and moments:
        c = moments[0]
        side = _side(found.group("dir"))
        t = float(c["start"] if side == "before" else c["end"])
        anchor = {"video": c["video"], "video_id": c.get("video_id")}
        anchor["segment_id"] = c.get("segment_id")
        if side == "before":
            anchor["before"] = t
        else:
            anchor["after"] = t
        anchor["adjacent"] = bool(n or (m and m.group("adj")))
        where = f"{side} {clock(t)}"
        if m:
            adj = m.group("adj") or ""
            resolved = question[: m.start()] + adj + where + question[m.end() :]
        else:
            resolved = f"{question} ({where})"
    rest = _ANCHOR.sub(" ", question)
    if len(content_words(rest)) <= 1 and last.get("question"):
        resolved = f"{resolved} (following up on: {last['question']})"
    return resolved, anchor


def keeps(anchor: Anchor | None, video: str, start: float, end: float) -> bool:
    """Whether a moment lies on the anchor's side of the earlier citation (same video)."""
    if not anchor:
        return True
    if video != anchor["video"]:
        return False
    if "before" in anchor:
        return start < float(anchor["before"]) and end <= float(anchor["before"]) + 0.5
    return end > float(anchor["after"]) and start >= float(anchor["after"]) - 0.5
