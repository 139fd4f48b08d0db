"""plan: start a fresh ask, resolve a follow-up against the thread, and split the question into
sub-queries with the planner plugin."""

from __future__ import annotations

from vagent.agent.context import AgentContext
from vagent.agent.followup import resolve
from vagent.agent.state import QAState, Trace
from vagent.threads import single_threaded


def plan(state: QAState, ctx: AgentContext) -> tuple[QAState, Trace]:
    question = state["question"]
    turns = state.get("turns") or []
    # an abstained turn's "answer" is the agent's own apology: planners never see it as a fact
    history = [
        {"question": t["question"], "answer": "" if t.get("abstained") else t["answer"]}
        for t in turns
    ]
    resolved, anchor = resolve(question, turns)
    info: Trace = {"planner": ctx.planner.id}
    if resolved != question:
        info["resolved"] = resolved
    if anchor:
        info["anchor"] = anchor
    try:
        # one thread: a few short decode steps; split across threads on a busy CPU they mostly
        # wait for each other (measured: a SmolLM2 plan took 66 s on 2 threads, 3 s on 1)
        with ctx.model_call(), single_threaded():
            queries = ctx.planner.plan(question, state.get("options"), history)
    except Exception as exc:  # a planner plugin's failure costs the split, not the answer
        queries = []
        info["error"] = f"{type(exc).__name__}: {exc}"
    queries = _dedupe([question, *[q for q in queries if q and q.strip()]])
    info["queries"] = queries
    fresh: QAState = {
        "queries": queries,
        "searched": [],
        "resolved": resolved,
        "anchor": anchor,
        "hits": [],
        "evidence": [],
        "missing_sources": [],
        "draft": {},
        "round": 0,
        "done": False,
        "answer": "",
        "citations": [],
        "abstained": False,
        "guessed": False,
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
