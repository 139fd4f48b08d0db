"""The question-answering graph's nodes. Each is ``node(state, ctx) -> (update, trace info)``:
it reads the state, returns only the fields it changes, and says what it did for the trace.
The graph itself is wired in ``workflows/qa.py``."""

from __future__ import annotations

from vagent.agent.nodes.answer import answer, verify
from vagent.agent.nodes.finish import finish
from vagent.agent.nodes.gather import gather
from vagent.agent.nodes.plan import plan
from vagent.agent.nodes.retrieve import retrieve
from vagent.agent.nodes.select import select_evidence
from vagent.agent.state import QAState

NODES = {
    "plan": plan,
    "retrieve": retrieve,
    "select": select_evidence,
    "gather": gather,
    "answer": answer,
    "verify": verify,
    "finish": finish,
}


def after_verify(state: QAState) -> str:
    """Where verify leads: ``finish`` once the draft is accepted, else back to ``retrieve``."""
    return "finish" if state.get("done") else "retrieve"


__all__ = ["NODES", "after_verify"]
