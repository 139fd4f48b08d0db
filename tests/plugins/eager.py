"""Test plugin ``testeager``: an answerer that suggests itself as the agent's default (the
registration's ``suggest``) as ``STATE`` says: "ready" (it does), "busy" (it says why not) or
"broken" (its check raises). Registered for one test at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vagent.components import Answerer
from vagent.hookspecs import hookimpl
from vagent.types import Draft, Question

STATE = {"mode": "ready"}


class Eager(Answerer):
    def __init__(self, spec: str | None = None) -> None:
        self.id = f"eager/{spec}" if spec else "eager"

    def answer(self, questions: Sequence[Question]) -> list[Draft]:
        return [Draft(text="eager") for _ in questions]


def _suggest() -> tuple[str | None, str]:
    mode = STATE["mode"]
    if mode == "broken":
        raise RuntimeError("cannot tell")
    if mode == "ready":
        return "eager/fast", "the fast eager model is here"
    return None, "eager is busy"


@hookimpl
def vagent_register_answerers(register: Any) -> None:
    register("eager", lambda spec, **_: Eager(spec), suggest=_suggest)
