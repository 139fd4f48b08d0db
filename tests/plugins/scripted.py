"""Test plugin ``testscripted``: an answerer whose behaviour a test picks by name.

``scripted`` reads the evidence text and picks the option (or quotes the span) that shares the
most words with it: a deterministic stand-in for a language model, so the graph's wiring can be
checked against known answers. ``scripted/unsure`` does the same with confidence 0.1 (verify
must loop), ``scripted/raise`` raises, ``scripted/sleep`` sleeps 5 s (timeouts),
``scripted/space`` claims another embedding space (mismatch refused), ``scripted/frames``
asks for frames and records the shapes it got. Registered for one test at a time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from vagent.components import Answerer
from vagent.hookspecs import hookimpl
from vagent.types import Draft, Question
from vagent.words import tokens

CALLS: list[Question] = []


class Scripted(Answerer):
    def __init__(self, spec: str | None = None) -> None:
        self.mode = spec or "plain"
        self.id = f"scripted/{spec}" if spec else "scripted"
        self.wants_frames = self.mode == "frames"
        if self.mode == "space":
            self.embedding_space = "some-other-space"

    def answer(self, questions: Sequence[Question]) -> list[Draft]:
        CALLS.extend(questions)
        if self.mode == "raise":
            raise RuntimeError("model exploded")
        if self.mode == "sleep":
            time.sleep(5)
        return [self._one(q) for q in questions]

    def _one(self, q: Question) -> Draft:
        words = [set(tokens(" ".join(t["text"] for t in e.texts))) for e in q.evidence]
        conf = 0.1 if self.mode == "unsure" else 0.9
        meta: dict[str, Any] = {
            "frames": [None if e.frames is None else e.frames.shape for e in q.evidence]
        }
        if q.options:
            scores = [max((len(set(tokens(o)) & w) for w in words), default=0) for o in q.options]
            best = max(range(len(scores)), key=lambda i: (scores[i], -i))
            used = [i for i, w in enumerate(words) if set(tokens(q.options[best])) & w]
            total = sum(scores) or 1
            probs = [s / total if sum(scores) else 1 / len(scores) for s in scores]
            return Draft(f"{chr(65 + best)}) {q.options[best]}", best, conf, probs, used, meta)
        qw = set(tokens(q.text))
        ranked = sorted(range(len(words)), key=lambda i: -len(words[i] & qw))
        if not ranked:
            return Draft("I don't know", None, conf, None, [], meta)
        top = ranked[0]
        text = " ".join(t["text"] for t in q.evidence[top].texts) or "nothing written"
        return Draft(text, None, conf, None, [top], meta)


@hookimpl
def vagent_register_answerers(register: Any) -> None:
    register("scripted", lambda spec, **_: Scripted(spec), description="test: scripted answerer")
