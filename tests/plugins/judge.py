"""Test plugin ``testjudge``: a judge of open answers (``wordjudge``) that scores the share of
the reference's words the answer holds, or, when the item has scoring points, the share of the
points whose words the answer all holds; deterministic, so eval's judge slot can be checked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vagent.components import Judge
from vagent.hookspecs import hookimpl
from vagent.words import tokens


class WordJudge(Judge):
    id = "wordjudge"
    semantic = False

    def score(
        self, question: str, reference: str, answer: str, scoring_points: Sequence[str] = ()
    ) -> float:
        if scoring_points:
            got = set(tokens(answer))
            return sum(set(tokens(p)) <= got for p in scoring_points) / len(scoring_points)
        want = set(tokens(reference))
        return len(want & set(tokens(answer))) / len(want) if want else 0.0


@hookimpl
def vagent_register_judges(register: Any) -> None:
    register("wordjudge", lambda spec, **_: WordJudge(), description="test: word-share judge")
