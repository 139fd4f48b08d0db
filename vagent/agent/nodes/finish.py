"""finish: the answer with its citations, each a real segment of a real video in the library.

The answerer says which evidence it used (``Draft.used``); when it does not, the three most
relevant moments shown to it are cited. Each citation says why it is there: which searches
found it and the words it holds.
"""

from __future__ import annotations

import os
from typing import Any

from vagent.agent.context import AgentContext

MAX_CITED = 3


def finish(state: dict[str, Any], ctx: AgentContext) -> tuple[dict[str, Any], dict[str, Any]]:
    draft = state.get("draft") or {}
    evidence = state.get("evidence") or []
    used = [i for i in draft.get("used") or [] if 0 <= i < len(evidence)]
    if not used:
        order = sorted(range(len(evidence)), key=lambda i: -evidence[i]["score"])
        used = sorted(order[:MAX_CITED])
    citations = [citation(evidence[i]) for i in used]
    answer = draft.get("text") or ""
    turn = {
        "question": state["question"],
        "options": state.get("options"),
        "answer": answer,
        "citations": citations,
    }
    info = {"cited": len(citations), "missing": len(state.get("missing_sources") or [])}
    return {"answer": answer, "citations": citations, "turns": [turn]}, info


def citation(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "video": e["video"],
        "name": os.path.basename(e["video"]),
        "start": e["start"],
        "end": e["end"],
        "why": why(e),
        "missing": bool(e.get("missing")),
    }


def why(e: dict[str, Any]) -> str:
    found = [c for c in e.get("channels") or [] if c != "earlier"]
    parts = [f"found by {'+'.join(found)} search" if found else "retrieved"]
    if e.get("channels") == ["neighbour"]:
        parts = ["next to a matching moment"]
    for t in (e.get("texts") or [])[:2]:
        text = t["text"] if len(t["text"]) <= 80 else t["text"][:77] + "..."
        parts.append(f'{t["source"]} at {clock(t["start"])}: "{text}"')
    if e.get("missing"):
        parts.append("source file missing")
    return "; ".join(parts)


def clock(t: float) -> str:
    t = int(t)
    h, m, s = t // 3600, t % 3600 // 60, t % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
