"""A planner that asks the answerer's language model for search queries.

The model sees the question (and the last turn, for follow-ups) and writes up to three short
search queries, one per line. Lines that are empty, too long, or repeat the question are
dropped, and so are lines that share no content word with the question or its options (a small
model's free association). The rule-based split is added, so a weak model can only add
queries, never lose the ones the rules find. Answerers without a language model (``complete``
returns None) get the rules alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from vagent.components import Planner
from vagent.words import tokens
from vagent_planners.rules import RulePlanner

PROMPT = (
    "Write up to 3 short search queries (a few words each), one per line, that would find the "
    "moments of a video needed to answer this question. Write only the queries.\n"
    "{context}Question: {question}\nQueries:\n"
)
MAX_LLM_QUERIES = 3


class LLMPlanner(Planner):
    id = "llm"

    def __init__(self, answerer: Any = None) -> None:
        self.answerer = answerer
        self.rules = RulePlanner()

    def plan(
        self, question: str, options: Sequence[str] | None, history: Sequence[dict[str, str]]
    ) -> list[str]:
        base = self.rules.plan(question, options, history)
        if self.answerer is None:
            return base
        context = ""
        if history:
            last = history[-1]
            context = f"Earlier: {last['question']} -> {last['answer']}\n"
        text = self.answerer.complete(PROMPT.format(context=context, question=question), 32)
        if text is None:
            return base
        about = set(tokens(" ".join([question, *(options or [])])))
        if history:
            about |= set(tokens(history[-1]["question"]))
        found = [q for q in parse_queries(text, question) if set(tokens(q)) & about]
        return base[:1] + found + base[1:]


def parse_queries(text: str, question: str) -> list[str]:
    """The model's lines, cleaned of numbering and quotes; at most three, none too long."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip().strip("\"'")
        if not line or len(line.split()) > 12 or line.casefold() == question.casefold():
            continue
        out.append(line)
        if len(out) == MAX_LLM_QUERIES:
            break
    return out
