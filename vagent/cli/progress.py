"""``vagent ask``'s progress: one line on stderr per step while the agent works.

Shown by default when stderr is a terminal and the output is not ``--json``; ``--progress``
forces it (into a pipe, or beside ``--json``), ``--no-progress`` silences it. A line looks like

    ask: plan        0.31 s  3 queries

and model loading, which can dominate a cold ``ask``, gets a line of its own first.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

import click


def wanted(flag: bool | None, as_json: bool) -> bool:
    """The ``--progress/--no-progress`` flag, or the default: a terminal and not ``--json``."""
    if flag is not None:
        return flag
    return not as_json and sys.stderr.isatty()


def _detail(name: str, info: Mapping[str, Any]) -> str:
    """A few words from the node's trace info: queries planned, round, confidence, failure."""
    if "error" in info:
        return "failed: " + str(info["error"]).splitlines()[0][:80]
    queries, rnd, conf = info.get("queries"), info.get("round"), info.get("confidence")
    if name == "plan" and isinstance(queries, list):
        return f"{len(queries)} quer{'y' if len(queries) == 1 else 'ies'}"
    if name == "retrieve" and isinstance(rnd, int):
        return f"round {rnd}"
    if isinstance(conf, float):
        return f"confidence {conf:.2f}"
    return ""


class AskProgress:
    """Prints the loading line and then a line per node (``AgentContext.progress``)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._t0 = time.perf_counter()

    def say(self, text: str) -> None:
        if self.enabled:
            click.echo(f"ask: {text}", err=True)

    def loading(self, library: str) -> None:
        self._t0 = time.perf_counter()
        self.say(f"loading models for library '{library}' ...")

    def loaded(self) -> None:
        self.say(f"{'models':<10}{time.perf_counter() - self._t0:6.2f} s  loaded")

    def __call__(self, name: str, seconds: float, info: Mapping[str, Any]) -> None:
        detail = _detail(name, info)
        self.say(f"{name:<10}{seconds:6.2f} s" + (f"  {detail}" if detail else ""))
