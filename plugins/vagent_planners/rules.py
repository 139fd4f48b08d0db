"""A rule-based question splitter.

The full question is always searched. Added to it: the clauses on either side of a temporal
word (before, after, then, while, when, until, during) or of a conjunction joining two clauses,
quoted phrases and capitalised names, each option joined to the question's content words
(multiple choice), and, for a short follow-up that leans on the last turn ("what about
after that?"), the last question joined with this one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vagent.components import Planner
from vagent.words import tokens

TEMPORAL = r"\b(?:before|after|afterwards|then|while|when|until|during|once|since)\b"
JOIN = r"\b(?:and|but|or)\b|[;,]"
_QUOTED = re.compile(r"[\"“']([^\"”']{3,})[\"”']")
_NAME = re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)\b")
_FOLLOW_UP = re.compile(r"\b(?:that|this|it|they|them|there|he|she|then)\b", re.I)
MAX_QUERIES = 6


class RulePlanner(Planner):
    id = "rules"

    def plan(
        self, question: str, options: Sequence[str] | None, history: Sequence[dict[str, str]]
    ) -> list[str]:
        q = question.strip()
        out = [q]
        parts = [p for p in re.split(TEMPORAL, q, flags=re.I) if len(tokens(p)) >= 2]
        if len(parts) > 1:
            out += [p.strip(" ,?.") for p in parts]
        for p in list(parts or [q]):
            sub = [s for s in re.split(JOIN, p, flags=re.I) if len(tokens(s)) >= 2]
            if len(sub) > 1:
                out += [s.strip(" ,?.") for s in sub]
        out += _QUOTED.findall(q) + _NAME.findall(q)
        content = " ".join(tokens(q))
        for opt in options or []:
            out.append(f"{content} {opt}".strip())
        if history and (len(tokens(q)) <= 4 or _FOLLOW_UP.search(q)):
            out.append(f"{history[-1]['question']} {q}")
        seen: set[str] = set()
        uniq = []
        for x in out:
            key = " ".join(x.casefold().split())
            if key and key not in seen:
                seen.add(key)
                uniq.append(x)
        return uniq[:MAX_QUERIES] if not options else uniq[: MAX_QUERIES + len(options)]
