"""Built-in planners: ``rules`` (a rule-based split) and ``llm`` (asks the answerer's language
model for search queries, and falls back to the rules when the answerer has none)."""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _rules(spec: str | None, answerer: Any = None, **_: Any) -> Any:
    from vagent_planners.rules import RulePlanner

    return RulePlanner()


def _llm(spec: str | None, answerer: Any = None, **_: Any) -> Any:
    from vagent_planners.llm import LLMPlanner

    return LLMPlanner(answerer)


@hookimpl
def vagent_register_planners(register: Any) -> None:
    register("rules", _rules, description="split on temporal words, conjunctions and quotes")
    register(
        "llm",
        _llm,
        description="the answerer's language model writes the search queries (rules otherwise)",
    )
