"""The default question-answering graph.

    plan -> retrieve -> select -> gather -> answer -> verify -> finish
                ^                                        |
                +---------- low confidence, bounded -----+

Nodes live in ``vagent.agent.nodes`` (each testable alone) and the state in
``vagent.agent.state.QAState``. ``build_graph`` is what ``vagent.Agent`` loads through the
``vagent.workflows`` entry point; ``make_graph`` is what ``langgraph dev`` serves (see
``langgraph.json``): it opens the library named by the run's ``library`` config or
``$VAGENT_LIBRARY``.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from langgraph.graph import END, START, StateGraph

from vagent.agent.context import AgentContext, traced
from vagent.agent.nodes import NODES, after_verify
from vagent.agent.state import QAState

ORDER = ["plan", "retrieve", "select", "gather", "answer", "verify"]


def build_graph(ctx: AgentContext, checkpointer: Any = None) -> Any:
    """Compile the graph over ``ctx`` (library, answerer, planner); threads go to
    ``checkpointer`` (None: no memory between asks)."""
    g = StateGraph(QAState)
    for name, node in NODES.items():
        g.add_node(name, traced(name, node, ctx))  # type: ignore[call-overload]
    g.add_edge(START, ORDER[0])
    for a, b in itertools.pairwise(ORDER):
        g.add_edge(a, b)
    g.add_conditional_edges("verify", after_verify, {"retrieve": "retrieve", "finish": "finish"})
    g.add_edge("finish", END)
    return g.compile(checkpointer=checkpointer)


def make_graph(config: dict[str, Any] | None = None) -> Any:
    """Graph factory for ``langgraph dev`` (the server brings its own checkpointer)."""
    from vagent.agent import Agent

    configurable = (config or {}).get("configurable", {})
    library = configurable.get("library") or os.environ.get("VAGENT_LIBRARY")
    if not library:
        raise ValueError("say which library to serve: set VAGENT_LIBRARY or config library")
    agent = Agent.open(library, answerer=configurable.get("answerer"), checkpoint=False)
    return agent.graph
