"""Test plugin ``testtalker``: an answerer whose ``complete`` writes fixed search queries (one on
the question's words, one numbered, one off topic), so the ``llm`` planner's model path runs in
the contract tests without a model."""

from __future__ import annotations

from typing import Any

from tests.plugins.scripted import Scripted
from vagent.hookspecs import hookimpl

LINES = '1. chef adds salt after the break\n- "the colour of the car"\nweather in Paris\n'


class Talker(Scripted):
    def __init__(self, spec: str | None = None) -> None:
        super().__init__(None)
        self.id = "talker"
        self.prompts: list[str] = []

    def complete(self, prompt: str, max_new_tokens: int = 64) -> str | None:
        self.prompts.append(prompt)
        return LINES


@hookimpl
def vagent_register_answerers(register: Any) -> None:
    register("talker", lambda spec, **_: Talker(spec), description="test: fixed completions")
