"""Test plugin ``testgrounding_answerers``: ``parrot`` answers each question with the sentence
set for it in ``ANSWERS`` (what SmolLM2-135M said on the spoken-needle benchmark: a distractor's
sentence, or a place it made up), at confidence 0.9. Registered per test, never installed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vagent.components import Answerer
from vagent.hookspecs import hookimpl
from vagent.types import Draft, Question

ANSWERS: dict[str, str] = {}


class Parrot(Answerer):
    id = "parrot"

    def answer(self, questions: Sequence[Question]) -> list[Draft]:
        return [
            Draft(ANSWERS.get(q.text, "nothing"), None, 0.9, None, [], {"model": self.id})
            for q in questions
        ]


@hookimpl
def vagent_register_answerers(register: Any) -> None:
    register("parrot", lambda spec, **_: Parrot(), description="test: says what it is told to")
