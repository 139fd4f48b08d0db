"""Test plugin ``testtrusty``: answerers that behave as the issue-10 tests need, picked by name.

``trusty`` reads the evidence: an open question gets the span sharing the most content words
with the question as asked (ties: the moment the agent ranked highest), multiple choice the
option sharing the most words with the evidence; confidence 0.9. ``trusty/inventor`` makes an
answer up whatever it is shown (the issue's mushroom), at 0.33, and picks option A.
``trusty/hesitant`` reads as ``trusty`` at confidence 0.2; ``trusty/decline`` says it does
not know; ``trusty/embellish`` adds words no evidence holds; ``trusty/contrary`` prefers, at
0.7, the option that mentions "five" (as SmolLM2 did against a subtitle saying twenty).
Registered per test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vagent.agent.grounding import content_words
from vagent.components import Answerer
from vagent.hookspecs import hookimpl
from vagent.types import Draft, Question

CALLS: list[Question] = []
INVENTION = "a type of edible mushroom that is used to make a popular dish."


class Trusty(Answerer):
    def __init__(self, spec: str | None = None) -> None:
        self.mode = spec or "reader"
        self.id = f"trusty/{spec}" if spec else "trusty"

    def answer(self, questions: Sequence[Question]) -> list[Draft]:
        CALLS.extend(questions)
        return [self._one(q) for q in questions]

    def _one(self, q: Question) -> Draft:
        meta: dict[str, Any] = {"model": self.id}
        if q.options:
            n = len(q.options)
            if self.mode in ("inventor", "contrary"):
                fav = 0
                if self.mode == "contrary":
                    fav = next((i for i, o in enumerate(q.options) if "five" in o), 0)
                top = 0.5 if self.mode == "inventor" else 0.7
                probs = [top if i == fav else (1 - top) / (n - 1) for i in range(n)]
            else:
                seen = set().union(*[content_words(_text(e)) for e in q.evidence])
                score = [len(content_words(o) & seen) + 0.01 for o in q.options]
                probs = [s / sum(score) for s in score]
            best = max(range(n), key=lambda i: probs[i])
            return Draft(f"{chr(65 + best)}) {q.options[best]}", best, 0.9, probs, [], meta)
        if self.mode == "inventor":
            return Draft(INVENTION, None, 0.33, None, [], meta)
        if self.mode == "decline":
            return Draft("I don't know.", None, 0.9, None, [], meta)
        if self.mode == "embellish":
            return Draft("It simmers for 100% of 100 seconds.", None, 0.9, None, [], meta)
        want = content_words(q.text)
        spans = [
            (len(content_words(str(s["text"])) & want), e.score, i, str(s["text"]))
            for i, e in enumerate(q.evidence)
            for s in e.texts
            if str(s.get("text", "")).strip()
        ]
        if not spans:
            return Draft("nothing is said there", None, 0.9, None, [], meta)
        _, _, i, text = max(spans, key=lambda x: (x[0], x[1]))
        return Draft(text, None, 0.2 if self.mode == "hesitant" else 0.9, None, [i], meta)


def _text(e: Any) -> str:
    return " ".join(str(s.get("text", "")) for s in e.texts)


@hookimpl
def vagent_register_answerers(register: Any) -> None:
    register("trusty", lambda spec, **_: Trusty(spec), description="test: issue-10 answerers")
