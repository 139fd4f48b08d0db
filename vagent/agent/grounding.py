"""Is an answer standing on the evidence? Which words decide it, and where are they?

Pure functions over the state's plain data (evidence moments with their text spans), so the
verify and finish nodes and the tests share one definition.

A *span* (one subtitle cue, one OCR line, one caption) **supports** an answer when it holds one
of the question's content words, or, in a moment the search matched by its words (text or
lexical channel) or that the thread pointed at (a follow-up's ``anchor``), one of the answer's
own content words; a follow-up without content words of its own ("what happens right before
that?") is answered by the moments it points at. Content words are lower-cased, lightly
stemmed ("simmers" -> "simmer"), stop words dropped. An answer is **grounded** when some span
supports it, or, for answerers that look at frames, when it rests on frames that were decoded;
it is never grounded when the answerer itself declines ("I don't know",
``Draft.meta["supported"] is False``) or when an open answer repeats an earlier turn's answer
word for word for a different question. An open answer whose own words the spans bearing on
the question mostly do not hold, or that lacks the kind of word the question asks for, is
grounded only "by quote": the span that answers the question by itself (``answering``; the
answer's words play no part in which) is given instead (see ``assess``).

The **deciding words** of a span are the question's and the answer's content words it holds;
``quote`` cuts a window around them, so a citation shows the words that decide the answer,
not the span's first characters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from vagent.agent.state import GroundingState, Turn
from vagent.types import Moment, TextHit
from vagent.words import STOPWORDS

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Words of questions that say nothing about where the answer is ("what do we do next?").
_EXTRA = """we us our you your they them he she his her him i me my mine its about after before
    then than also just right next now so not no can could would should may might must get
    gets got go goes going happen happens happened thing things something any some all
    very much many more most other only same such each every own here there"""
EXTRA_STOP = frozenset(_EXTRA.split())
# Open answers that decline: the answerer itself says the evidence does not answer.
_DECLINES = re.compile(
    r"\b(?:i\s+(?:do\s+not|don'?t)\s+know|not\s+(?:mentioned|stated|shown|given|provided|"
    r"specified|found|in\s+the\s+evidence)|no\s+evidence|(?:cannot|can'?t)\s+(?:answer|tell|"
    r"say|determine)|does\s+not\s+(?:say|mention|show)|unknown)\b",
    re.I,
)
MATCHED_CHANNELS = frozenset({"text", "lexical", "anchor"})
_NUMBER_WORDS = """one two three four five six seven eight nine ten eleven twelve fifteen twenty
    thirty forty fifty sixty hundred thousand million half dozen once twice"""
_WHEN_WORDS = """monday tuesday wednesday thursday friday saturday sunday morning afternoon
    evening night noon midnight today tomorrow yesterday january february march april june july
    august september october november december"""
_NUMBERS = frozenset(_NUMBER_WORDS.split())
# Words that state a checkable fact on their own: an open answer that names one the evidence
# does not hold has invented it, however many of its other words the evidence holds ("the
# meeting moved to Berlin ... now held in Madrid", "a shade of green", "at seven").
_COLOUR_WORDS = """red orange yellow green blue purple violet pink brown black white grey gray
    gold silver beige turquoise"""
_SEASON_WORDS = "spring summer autumn fall winter"
_DURATION = frozenset(["second", "minute", "hour", "day", "week", "month", "year"])
_WHEN = frozenset(_WHEN_WORDS.split())
SPECIFIC = _NUMBERS | _WHEN | frozenset((_COLOUR_WORDS + " " + _SEASON_WORDS).split())
_CAPITAL = re.compile(r"\b[A-Z][^\W\d_]+", re.UNICODE)
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][^\W\d_]+", re.UNICODE)
# The kind of "which city ...": a name (a capitalised word, see ``names``), not a word list.
NAMED = frozenset({"<name>"})
_WHICH = r"\b(?:what|which)\s+(?:[^\W\d_]+\s+)?"  # "which city", "which German city"
# (pattern, the kind of words its answer holds, whether every answer must hold one: "what
# colour?" is answered by a colour, "how big?" or "when?" may be answered in other words)
_KINDS = [
    (re.compile(r"\bhow\s+long\b", re.I), _DURATION | _NUMBERS, False),
    (
        re.compile(r"\bhow\s+(?:many|much|often|old|big|far|hot|cold|high|fast)\b", re.I),
        _NUMBERS,
        False,
    ),
    (re.compile(r"\b(?:what|which)\s+(?:time|hour|day|date)\b", re.I), _WHEN | _NUMBERS, True),
    (re.compile(r"\bwhen\b", re.I), _WHEN | _NUMBERS, False),
    (re.compile(rf"{_WHICH}(?:colou?r|shade)\b", re.I), frozenset(_COLOUR_WORDS.split()), True),
    (re.compile(rf"{_WHICH}(?:city|town|country|capital)\b", re.I), NAMED, True),
]
QUOTE_CHARS = 90
MIN_COVERAGE = 0.5


def stem(word: str) -> str:
    """A light stem, enough for "simmers"/"simmering"/"simmered" to meet "simmer"."""
    w = word.lower()
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    elif len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # "stopp(ed)" -> "stop"
    return w


def _is_content(w: str) -> bool:
    return w not in STOPWORDS and w not in EXTRA_STOP and (len(w) > 1 or w.isdigit())


def content_words(text: str) -> set[str]:
    """The stemmed content words of ``text``."""
    return {stem(w) for w in _WORD.findall(text.lower()) if _is_content(w)}


def names(text: str, context: str = "") -> set[str]:
    """The stemmed names of ``text``: capitalised words that do not start a sentence, and
    those that do where ``context`` (the question, the evidence) shows they are names: it
    writes them capitalised mid-sentence, or holds them and never in lower case ("Maria said
    ..." when a span says "... asked Maria" or "Maria painted ..."). Without ``context`` a
    sentence's first word is not taken for a name."""
    text = text.strip()
    mid = {m.start() for m in _NAME.finditer(text)}
    found = {m.group(0) for m in _CAPITAL.finditer(text) if m.start() in mid}
    first = {m.group(0) for m in _CAPITAL.finditer(text) if m.start() not in mid} - found
    if first and context.strip():
        said = set(_WORD.findall(context))
        named = {m.group(0) for m in _NAME.finditer(context.strip())}
        found |= {w for w in first if w in named or (w in said and w.lower() not in said)}
    return {stem(w) for w in found}


def specifics(answer: str, question: str = "", context: str = "") -> set[str]:
    """The stemmed words of ``answer`` (not in ``question``) that state a fact on their own:
    numbers (digits or words), days, months, seasons, colours, and names (``names``, with the
    question and ``context``, the evidence's text, telling a sentence-initial name from a
    common word)."""
    named = names(answer, f"{question}. {context}" if context else "")
    own = content_words(answer) - content_words(question)
    return {w for w in own if w in SPECIFIC or w in named or any(c.isdigit() for c in w)}


def _stated_together(specific: set[str], about: set[str], span_words: list[set[str]]) -> bool:
    """Whether one span (its content words in ``span_words``) holds every specific of the
    answer and a word of what they are said of (``about``: the question's and the answer's
    other content words): "held in Madrid" is not stated by a span that says someone "is
    flying to Madrid", nor "green walls" by "a green fence" alone."""
    return not specific or any(specific <= w and bool(w & about) for w in span_words)


def expected(question: str) -> frozenset[str] | None:
    """The kind of words an answer to ``question`` holds ("how long" -> durations and numbers;
    digits always count for these kinds); None when the question does not say."""
    for pattern, words, _strict in _KINDS:
        if pattern.search(question):
            return words
    return None


def required(question: str) -> frozenset[str] | None:
    """The kind of words every answer to ``question`` must hold ("what colour ...?": a colour;
    "which city ...?": a name; "at what hour / on what date ...?": a time or a number); None
    when other words may answer it too ("how big?", "when?")."""
    for pattern, words, strict in _KINDS:
        if pattern.search(question):
            return words if strict else None
    return None


def holds_kind(
    words: AbstractSet[str], kind: frozenset[str] | None, named: AbstractSet[str] = frozenset()
) -> bool:
    """Whether ``words`` hold the ``kind`` of words a question asks for (``named``: the names
    in them, for a question asking for a name)."""
    if kind is NAMED:
        return bool(named)
    return kind is not None and (bool(words & kind) or any(w.isdigit() for w in words))


def declines(text: str) -> bool:
    """The answer says it cannot answer from what it was shown."""
    return bool(_DECLINES.search(text or ""))


@dataclass
class Support:
    """One span that supports the answer: evidence index, span index, its deciding words, and
    ``focus``: how well it answers the question alone (its question words, plus one half when it
    holds the kind of words the question asks for), then the moment's rank."""

    evidence: int
    span: int
    words: set[str]
    score: float
    focus: tuple[float, float] = (0.0, 0.0)
    answers_question: bool = False


@dataclass
class Grounding:
    """What ``assess`` found. ``support``: supporting spans, best first. ``reason``: why the
    answer is not grounded (empty when it is). ``by``: "words" or "frames"."""

    grounded: bool
    support: list[Support] = field(default_factory=list)
    reason: str = ""
    by: str = ""
    coverage: float | None = None

    def to_dict(self) -> GroundingState:
        return {
            "grounded": self.grounded,
            "reason": self.reason,
            "by": self.by,
            "coverage": self.coverage,
            "support": [
                {"evidence": s.evidence, "span": s.span, "words": sorted(s.words)}
                for s in self.support
            ],
        }


def spans(evidence: Sequence[Moment]) -> Iterable[tuple[int, int, TextHit]]:
    for i, e in enumerate(evidence):
        for j, s in enumerate(e.get("texts") or []):
            if str(s.get("text", "")).strip():
                yield i, j, s


def supporting(question: str, answer: str, evidence: Sequence[Moment]) -> list[Support]:
    """The spans that support ``answer`` to ``question`` (see the module doc), best first."""
    q = content_words(question)
    a = content_words(answer) - q
    kind = expected(question)
    out = []
    for i, j, s in spans(evidence):
        words = content_words(str(s["text"]))
        hit_q = words & q
        channels = set(evidence[i].get("channels") or [])
        matched = bool(channels & MATCHED_CHANNELS)
        hit_a = words & a if matched or hit_q else set()
        pointed = _pointed(q, evidence[i])
        if hit_q or hit_a or pointed:
            # answer words decide more than question words; a higher-ranked moment breaks ties
            rank = float(evidence[i].get("score") or 0)
            named = names(str(s["text"])) if kind is NAMED else set()
            bonus = 0.5 if hit_q and holds_kind(words, kind, named) else 0.0
            asked = len(hit_q) + bonus + (1.0 if pointed else 0.0)
            score = asked + 2.0 * len(hit_a) + 0.01 * rank
            sup = Support(i, j, hit_q | hit_a, score, (asked, rank), bool(hit_q) or pointed)
            out.append(sup)
    return sorted(out, key=lambda s: -s.score)


def _top(evidence: Sequence[Moment]) -> set[int]:
    """The moments the search ranked highest (all of them when tied)."""
    ranks = [float(e.get("score") or 0) for e in evidence]
    return {i for i, r in enumerate(ranks) if r == max(ranks)} if ranks else set()


def _pointed(q: set[str], e: Moment) -> bool:
    """Whether the thread pointed at moment ``e`` for a question without content words
    (``q``): "what happens right before that?" names its moment by time, not by words."""
    return not q and "anchor" in (e.get("channels") or [])


def _relevant(q: set[str], words: set[str], e: Moment, top: bool) -> bool:
    """Whether a span (its content words ``words``, in moment ``e``) bears on the question
    (its content words ``q``): it holds one of them, its moment is the one the search ranked
    highest (``top``), or the thread pointed at it (``_pointed``)."""
    return bool(words & q) or _pointed(q, e) or top


def answering(question: str, evidence: Sequence[Moment]) -> list[Support]:
    """The spans that answer ``question`` by themselves, best first, whatever an answer says:
    those holding its content words (or that the thread pointed at, for a follow-up without
    any), and those of the highest-ranked moment that hold the kind of words it asks for (a
    colour, a time, a name: ``expected``); where every answer must be of that kind
    (``required``: "what colour ...?"), only spans holding it. Best: holding that kind, then
    the search's rank of the moment, then the question words held. A span's ``words``: the
    question words and the kind's words it holds, which its quote is cut around."""
    q = content_words(question)
    kind = expected(question)
    need = required(question) is not None
    top = _top(evidence)
    out = []
    for i, j, s in spans(evidence):
        text = str(s["text"])
        words = content_words(text)
        hit_q = words & q
        pointed = _pointed(q, evidence[i])
        named = names(text) if kind is NAMED else set()
        kinded = holds_kind(words, kind, named)
        if not (hit_q or pointed or (kinded and i in top)) or (need and not kinded):
            continue
        rank = float(evidence[i].get("score") or 0)
        held = named if kind is NAMED else {w for w in words if w in (kind or ()) or w.isdigit()}
        asked = len(hit_q) + (1.0 if pointed else 0.0)
        focus = (1.0 if kinded else 0.0, rank)
        out.append(Support(i, j, hit_q | (held if kinded else set()), asked, focus, True))
    return sorted(out, key=lambda sup: (*sup.focus, sup.score), reverse=True)


def assess(
    question: str,
    answer: str,
    evidence: Sequence[Moment],
    *,
    frames: bool = False,
    meta: dict[str, Any] | None = None,
    earlier: Sequence[Turn] = (),
    free: bool = False,
) -> Grounding:
    """Whether ``answer`` (an open answer's text, or the chosen option's text) stands on
    ``evidence``. ``frames``: the answerer looked at decoded frames. ``earlier``: the thread's
    previous turns (question, answer). ``free``: ``answer`` is free text (an open question):
    its ``coverage`` is the share of its own content words (those not in the question) that
    the evidence holds, and 0 when no one span states its specifics (numbers, days, colours,
    names: ``specifics``) with a word of what they are said of; under ``MIN_COVERAGE`` it adds
    what the evidence does not say. Only spans that bear on the question count for both (they
    hold its words, or are in the moment the search ranked highest): a distractor's sentence
    given as the answer does not stand on itself, however much of it the span holds. An
    answer to a question that every answer must meet with a kind of word ("what colour ...?":
    a colour, a name, a time: ``required``) that holds none of its own has coverage 0 too.
    Such an answer is grounded only where a span answers the question by itself
    (``answering``; the answer's words play no part in which), and then ``by`` is "quote":
    that span is given instead of the sentence (``finish``)."""
    if not evidence:
        return Grounding(False, reason="no evidence: the search found no matching moment")
    meta = meta or {}
    if meta.get("supported") is False or meta.get("no_frames"):
        return Grounding(False, reason="the answerer rates the evidence as not answering")
    if declines(answer):
        return Grounding(False, reason="the answerer says the evidence does not answer")
    said = " ".join(answer.casefold().split())
    for t in earlier:
        same = " ".join(str(t.get("answer") or "").casefold().split())
        if said and same == said and t.get("question", "").strip() != question.strip():
            return Grounding(False, reason="the answer repeats an earlier answer word for word")
    found = supporting(question, answer, evidence)
    coverage = None
    if free:
        asked, told = content_words(question), content_words(answer)
        new = told - asked
        texts = [(i, str(s["text"])) for i, _j, s in spans(evidence)]
        top = _top(evidence)
        span_words = [
            w for i, t in texts if _relevant(asked, w := content_words(t), evidence[i], i in top)
        ]
        held = set().union(*span_words)
        coverage = round(len(new & held) / len(new), 3) if new else None
        context = ". ".join(t for _i, t in texts)
        specific = specifics(answer, question, context)
        if not _stated_together(specific, (asked | told) - specific, span_words):
            coverage = 0.0  # it names a fact no one relevant span states with its subject
        kind = required(question)
        own_names = names(answer, f"{question}. {context}") - asked
        if kind is not None and not holds_kind(new, kind, own_names):
            coverage = 0.0  # "what colour ...?" answered without a colour
    framed = frames and any(e.get("frame_times") and not e.get("missing") for e in evidence)
    if found and (coverage is None or coverage >= MIN_COVERAGE):
        return Grounding(True, found, by="words", coverage=coverage)
    by_q = answering(question, evidence) if free and (found or not framed) else []
    if by_q:
        # the sentence is not to be trusted: the span answering the question alone decides
        return Grounding(True, by_q, by="quote", coverage=coverage)
    if found:
        return Grounding(
            False, reason="the answer says more than the evidence holds", coverage=coverage
        )
    if framed:
        return Grounding(True, by="frames")
    return Grounding(False, reason="no evidence holds the question's or the answer's words")


def option_scores(
    question: str, options: Sequence[str], evidence: Sequence[Moment]
) -> list[float] | None:
    """How well each option's distinctive words (not in the question, not shared by every
    option) are held by the evidence: per option, the best span's fraction of them, a span that
    also holds a question word counting in full and any other half. None when no option's
    words appear at all, or when the options cannot be told apart by their words."""
    q = content_words(question)
    words = [content_words(o) - q for o in options]
    common = set.intersection(*words) if words else set()
    distinct = [w - common for w in words]
    if not any(distinct):
        return None
    scores = [0.0] * len(options)
    for _i, _j, s in spans(evidence):
        sw = content_words(str(s["text"]))
        weight = 1.0 if sw & q else 0.5
        for k, d in enumerate(distinct):
            if d:
                scores[k] = max(scores[k], weight * len(d & sw) / len(d))
    if max(scores) <= 0.0 or len(set(scores)) == 1:
        return None
    return [round(x, 4) for x in scores]


def combine(model: Sequence[float], lexical: Sequence[float], weight: float = 4.0) -> list[float]:
    """The answerer's option distribution times a softmax of the evidence scores, normalised."""
    ex = [math.exp(weight * x) for x in lexical]
    z = sum(ex)
    joint = [max(float(m), 1e-6) * e / z for m, e in zip(model, ex)]
    total = sum(joint)
    return [j / total for j in joint]


def quote(text: str, want: set[str], width: int = QUOTE_CHARS) -> str:
    """A window of ``text`` of at most about ``width`` characters around the words in ``want``
    (stemmed content words): the window holding the most of them, cut at word boundaries and
    marked with "..." where it is cut. Short texts, and texts with none of them, come whole
    (or from their start)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    toks = [(m.start(), m.end(), stem(m.group())) for m in _WORD.finditer(text)]
    hits = [k for k, t in enumerate(toks) if t[2] in want]
    if not hits:
        start, end = 0, width
    else:
        best = (0, hits[0], hits[0])
        for a in range(len(hits)):
            b = a
            while b + 1 < len(hits) and toks[hits[b + 1]][1] - toks[hits[a]][0] <= width:
                b += 1
            n = len({toks[h][2] for h in hits[a : b + 1]})
            if n > best[0]:
                best = (n, hits[a], hits[b])
        lo, hi = toks[best[1]][0], toks[best[2]][1]
        spare = max(0, width - (hi - lo))
        start = max(0, lo - spare // 2)
        end = min(len(text), hi + (spare - (lo - start)))
    if start > 0:
        cut = text.rfind(" ", 0, start + 1)
        start = cut + 1 if cut >= 0 else 0
    if end < len(text):
        cut = text.find(" ", end)
        end = cut if cut >= 0 else len(text)
    return ("..." if start > 0 else "") + text[start:end] + ("..." if end < len(text) else "")
