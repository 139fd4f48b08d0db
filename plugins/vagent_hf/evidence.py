"""Evidence as prompt text: one line per moment, kept under a token budget.

A line reads ``[1] lecture.mp4 0:10-0:20 (subtitle 0:12-0:16) "the step size is 0.1"``: the
evidence number (1-based), the video's file name, the segment's times, then each text span
inside it with its source and times. Segments without text show just the time range.
``segment_line`` is the same line without the number (``hf-text``, whose segments' lines are
encoded once and cached, must render a segment the same wherever it stands).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

import numpy as np

from vagent.choices import LETTERS
from vagent.timefmt import clock
from vagent.types import Draft, Evidence, Question

MAX_LINE_CHARS = 600
_STOP = """a an the and or but if of to in on at by for with from into onto over under about as is
    are was were be been being am do does did done have has had this that these those it its
    they them their there here what which who whom whose when where why how not no yes so than
    then too very can could would should will shall may might must i you he she we me my your
    his her our us one all any some each more most other such only own same just also"""
STOPWORDS = frozenset(_STOP.split())


def video_name(video: str) -> str:
    return PurePath(video).name or video


def span_text(span: Mapping[str, Any]) -> str:
    start, end = float(span.get("start", 0.0)), float(span.get("end", 0.0))
    when = clock(start) if clock(start) == clock(end) else f"{clock(start)}-{clock(end)}"
    text = " ".join(str(span.get("text", "")).split())
    return f'({span.get("source", "text")} {when}) "{text}"'


def spans_text(e: Evidence) -> str:
    return " ".join(span_text(s) for s in e.texts if str(s.get("text", "")).strip())


def _capped(line: str) -> str:
    return line[: MAX_LINE_CHARS - 3].rstrip() + '..."' if len(line) > MAX_LINE_CHARS else line


def _moment(e: Evidence) -> str:
    head = f"{video_name(e.video)} {clock(e.start)}-{clock(e.end)}"
    spans = spans_text(e)
    return f"{head} {spans}" if spans else head


def evidence_line(i: int, e: Evidence) -> str:
    """The line for evidence index ``i`` (shown 1-based)."""
    return _capped(f"[{i + 1}] {_moment(e)}")


def segment_line(e: Evidence) -> str:
    """The line for ``e`` alone: what ``evidence_line`` shows without the evidence number, so
    it reads the same wherever the segment stands in a prompt (``hf-text`` caches it)."""
    return _capped(_moment(e))


def fit(
    costs: Sequence[int], scores: Sequence[float], budget: int, keep: Sequence[int] = ()
) -> list[int]:
    """Indices to keep, in order, whose ``costs`` sum within ``budget``: the best-scored first,
    so the lowest-scored evidence is what gets dropped. ``keep`` limits the candidates."""
    candidates = list(keep) if keep else list(range(len(costs)))
    kept: list[int] = []
    total = 0
    for i in sorted(candidates, key=lambda j: (-float(scores[j]), j)):
        if total + costs[i] <= budget:
            kept.append(i)
            total += costs[i]
    return sorted(kept)


def options_text(options: Sequence[str]) -> str:
    return "\n".join(f"{LETTERS[i]}) {o}" for i, o in enumerate(options))


def question_text(q: Question, letters: bool = True) -> str:
    """The question; with its lettered options when they are to be picked by letter (scoring
    the options' own texts shows none: small models copy text well but pick letters at chance)."""
    if q.options is None:
        return f"Question: {q.text}\nAnswer briefly, in one sentence."
    if not letters:
        return f"Question: {q.text}"
    return (
        f"Question: {q.text}\nOptions:\n{options_text(q.options)}\n"
        f"Answer with the letter of the correct option."
    )


def content_words(text: str) -> set[str]:
    words = re.findall(r"[^\W_]+", text.lower())
    return {w for w in words if w not in STOPWORDS and (len(w) > 2 or w.isdigit())}


def used_evidence(answer: str, evidence: Sequence[Evidence]) -> list[int]:
    """Indices of the evidence whose text shares a content word with ``answer``."""
    want = content_words(answer)
    if not want:
        return []
    return [
        i
        for i, e in enumerate(evidence)
        if want & content_words(" ".join(str(s.get("text", "")) for s in e.texts))
    ]


def budget_lines(
    lines: Sequence[str], scores: Sequence[float], count: Callable[[str], int], budget: int
) -> list[int]:
    """Which of ``lines`` fit in ``budget`` tokens (``count`` counts one line)."""
    return fit([count(line) + 1 for line in lines], scores, budget)


def choice_draft(
    options: Sequence[str], probs: Any, evidence: Sequence[Evidence], meta: dict[str, Any]
) -> Draft:
    """The multiple-choice reply for option probabilities ``probs`` (one per option)."""
    choice = int(np.argmax(probs))
    return Draft(
        text=f"{LETTERS[choice]}) {options[choice]}",
        choice=choice,
        confidence=float(probs[choice]),
        option_scores=[float(p) for p in probs],
        used=used_evidence(options[choice], evidence),
        meta=meta,
    )


def check_option_count(who: str, options: Sequence[str]) -> None:
    if not 1 <= len(options) <= len(LETTERS):
        raise ValueError(f"{who}: need 1 to {len(LETTERS)} options, got {len(options)}")
