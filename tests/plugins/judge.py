"""Test plugin ``testjudge``: a judge of open answers (``wordjudge``) that scores the share of
the reference's words the answer holds; deterministic, so eval's judge slot can be checked."""

from __future__ import annotations

from typing import Any

from vagent.components import Judge
from vagent.hookspecs import hookimpl
from vagent.text.lexical import tokens


class WordJudge(Judge):
    id = "wordjudge"

    def score(self, question: str, reference: str, answer: str) -> float:
        want = set(tokens(reference))
        return len(want & set(tokens(answer))) / len(want) if want else 0.0


@hookimpl
def vagent_register_judges(register: Any) -> None:
    register("wordjudge", lambda spec, **_: WordJudge(), description="test: word-share judge")
