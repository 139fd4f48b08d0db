"""finish: the answer with its citations, each a real segment of a real video in the library.

A grounded answer cites the moments whose words decide it (``grounding``): the supporting
spans' moments, best first, each quoting a window around its deciding words. An open answer
that says more than the evidence holds (``grounding`` "by quote") is replaced by the quote of
the span that answers the question ("The library says: "..." (talk.mp4 0:20-0:30)"), its
window cut around the question's words; the sentence's words choose nothing. An answer
grounded by frames cites the moments the answerer named (``Draft.used``), or the most relevant
ones shown to it. An answer with nothing to stand on is not given: the agent abstains in plain
words and names the closest moments, cited as near misses. With ``guess`` the answerer's
draft is given anyway, labelled a guess, with the same near misses.
"""

from __future__ import annotations

import os
from typing import TypedDict

from vagent.agent.context import AgentContext
from vagent.agent.grounding import content_words, quote
from vagent.agent.state import Cited, QAState, Support, Trace, Turn
from vagent.timefmt import clock
from vagent.types import Moment

MAX_CITED = 3
QUOTES_PER_CITATION = 2
ABSTAIN = "The library holds nothing that answers this"
SAYS = "The library says:"
GUESS_LABEL = "a guess: the library holds nothing that answers this"


def finish(state: QAState, ctx: AgentContext) -> tuple[QAState, Trace]:
    draft = state.get("draft") or {}
    evidence = state.get("evidence") or []
    g = draft.get("grounding")
    grounded = bool(draft.get("grounded"))
    options = state.get("options")
    choice = draft.get("choice")
    said = options[choice] if options and choice is not None else draft.get("text") or ""
    want = (content_words(state["question"]), content_words(said))
    by_quote = bool(g and g["by"] == "quote" and g["support"])
    if by_quote:
        # the sentence is not trusted: its words choose neither the span nor the window
        want = (content_words(state["question"]), set())
    if grounded:
        order = _dedupe([s["evidence"] for s in (g["support"] if g else [])])
        if not order:
            used = [i for i in draft.get("used") or [] if 0 <= i < len(evidence)]
            order = used or _best(evidence)
        citations = [citation(evidence[i], want) for i in order[:MAX_CITED]]
        answer, abstained, guessed = draft.get("text") or "", False, False
        if g and by_quote and citations:
            # the sentence added what the evidence does not say: give the words the span that
            # answers the question says, cut around the question's (and the asked kind's) words
            top = g["support"][0]
            c = citations[0] = citation(evidence[top["evidence"]], want, lead=top)
            answer = f'{SAYS} "{c["quote"]}" ({c["name"]} {clock(c["start"])}-{clock(c["end"])})'

    else:
        citations = [citation(evidence[i], want, near_miss=True) for i in _best(evidence)]
        guessed = bool(state.get("guess")) and bool(draft.get("text"))
        abstained = not guessed
        answer = guess_text(draft["text"]) if guessed else abstain_text(citations)
    turn: Turn = {
        "question": state["question"],
        "options": state.get("options"),
        "answer": answer,
        "citations": citations,
        "abstained": abstained,
    }
    info: Trace = {
        "cited": sum(not c["near_miss"] for c in citations),
        "near_misses": sum(c["near_miss"] for c in citations),
        "grounded": grounded,
        "abstained": abstained,
        "missing": len(state.get("missing_sources") or []),
    }
    out: QAState = {
        "answer": answer,
        "citations": citations,
        "abstained": abstained,
        "guessed": guessed,
        "turns": [turn],
    }
    return out, info


def _dedupe(items: list[int]) -> list[int]:
    return list(dict.fromkeys(items))


def _best(evidence: list[Moment]) -> list[int]:
    """The most relevant moments shown, by fused score (the closest ones, when abstaining)."""
    return sorted(range(len(evidence)), key=lambda i: -evidence[i]["score"])[:MAX_CITED]


def abstain_text(near: list[Cited]) -> str:
    if not near:
        return f"{ABSTAIN}: no moment matched the question."
    where = ", ".join(f"{c['name']} {clock(c['start'])}-{clock(c['end'])}" for c in near)
    return f"{ABSTAIN}; closest moments: {where}."


def guess_text(text: str) -> str:
    return f"{text} ({GUESS_LABEL})"


Words = tuple[set[str], set[str]]


def citation(
    e: Moment, want: Words | None = None, near_miss: bool = False, lead: Support | None = None
) -> Cited:
    """``e`` as a citation, quoting its spans that hold the most of ``want``; ``lead``: the span
    to quote first (cut around its own deciding words), whatever the others hold."""
    quotes = quotes_of(e, want, lead)
    return {
        "video": e["video"],
        "video_id": e.get("video_id"),
        "segment_id": e.get("segment_id"),
        "name": os.path.basename(e["video"]),
        "start": e["start"],
        "end": e["end"],
        "why": why(e, want),
        "quote": quotes[0]["text"] if quotes else "",
        "missing": bool(e.get("missing")),
        "near_miss": near_miss,
    }


class _QuoteFields(TypedDict):
    source: str
    start: float
    text: str


class Quote(_QuoteFields, total=False):
    """A window of one span around its deciding words: its source, start and the words; ``at``:
    where speech's matching words were said; ``language``: the language it was heard in."""

    at: float
    language: str


def quotes_of(e: Moment, words: Words | None, lead: Support | None = None) -> list[Quote]:
    """The moment's spans that hold the most deciding words, each cut to a window around them;
    spans in time order when none holds any. ``words``: the question's and the answer's content
    words; an answer that copies most of a span decides nothing by its words there, so that
    span's window is placed by the question's words alone."""
    qw, aw = words or (set(), set())
    all_texts = e.get("texts") or []
    first = lead["span"] if lead and 0 <= lead["span"] < len(all_texts) else None
    texts = [t for t in all_texts if str(t.get("text", "")).strip()]
    wants = [_deciding(content_words(str(t["text"])), qw, aw) for t in texts]
    hits = [len(content_words(str(t["text"])) & w) for t, w in zip(texts, wants)]
    order = sorted(range(len(texts)), key=lambda i: (-hits[i], texts[i].get("start", 0.0)))
    if any(hits):
        order = [i for i in order if hits[i]]
    if first is not None and all_texts[first] in texts:
        k = next(i for i, t in enumerate(texts) if t is all_texts[first])
        wants[k] = set(lead["words"]) if lead and lead["words"] else wants[k]
        order = [k, *(i for i in order if i != k)]
    out: list[Quote] = []
    for i in order[:QUOTES_PER_CITATION]:
        span = texts[i]
        q: Quote = {
            "source": span.get("source", "text"),
            "start": span.get("start", e.get("start", 0.0)),
            "text": quote(str(span["text"]), wants[i]),
        }
        if "at" in span:  # speech: its words' time
            q["at"] = span["at"]
        if span.get("language"):
            q["language"] = str(span["language"])
        out.append(q)
    return out


def _deciding(span: set[str], qw: set[str], aw: set[str]) -> set[str]:
    copied = span and len(span & aw) >= 0.6 * len(span)
    return qw if copied and span & qw else qw | aw


def why(e: Moment, want: Words | None = None) -> str:
    found = [c for c in e.get("channels") or [] if c not in ("earlier", "anchor")]
    parts = [f"found by {'+'.join(found)} search" if found else "retrieved"]
    if e.get("channels") == ["neighbour"]:
        parts = ["next to a matching moment"]
    elif e.get("channels") == ["anchor"]:
        parts = ["next to the earlier answer's moment"]
    for t in quotes_of(e, want):
        at = t.get("at", t["start"])  # speech: where its matching words were said
        lang = t.get("language", "en")  # speech heard in another language than English: named
        source = t["source"] if lang == "en" else f"{t['source']} ({lang})"
        parts.append(f'{source} at {clock(at)}: "{t["text"]}"')
    if e.get("missing"):
        parts.append("source file missing")
    return "; ".join(parts)
