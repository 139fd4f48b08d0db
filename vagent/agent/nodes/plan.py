"""plan: start a fresh ask and split the question into sub-queries with the planner plugin."""

from __future__ import annotations

from typing import Any

from vagent.agent.context import AgentContext


def plan(state: dict[str, Any], ctx: AgentContext) -> tuple[dict[str, Any], dict[str, Any]]:
    question = state["question"]
    history = [{"question": t["question"], "answer": t["answer"]} for t in state.get("turns") or []]
    info: dict[str, Any] = {"planner": ctx.planner.id}
    try:
        with ctx.model_call():
            queries = ctx.planner.plan(question, state.get("options"), history)
    except Exception as exc:  # a planner plugin's failure costs the split, not the answer
        queries = []
        info["error"] = f"{type(exc).__name__}: {exc}"
    queries = _dedupe([question, *[q for q in queries if q and q.strip()]])
    info["queries"] = queries
    fresh = {
        "queries": queries,
        "hits": [],
        "evidence": [],
        "missing_sources": [],
        "draft": {},
        "round": 0,
        "done": False,
        "answer": "",
        "citations": [],
        "trace": [],
    }
    return fresh, info


def _dedupe(queries: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for q in queries:
        key = " ".join(q.casefold().split())
        if key not in seen:
            seen.add(key)
            out.append(q.strip())
    return out
