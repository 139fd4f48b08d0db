"""vagent: index long videos, search them, and ask questions with timestamped answers."""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from vagent.logs import show_as_lines

__version__ = "0.1.0"

# vagent's log records are chatter: silent unless a front end shows them (VAGENT_DEBUG=1)
logging.getLogger("vagent").addHandler(logging.NullHandler())
# a VagentWarning shows as the CLI's one line (warning: ...); filters work as for any warning
show_as_lines()

# The public names, imported on first use: ``import vagent.x`` runs this file first, so importing
# the library and the agent here would load (and tie into a circle) everything for every module.
_LAZY = {
    "Agent": "vagent.agent",
    "AgentConfig": "vagent.agent",
    "AskResult": "vagent.agent",
    "Library": "vagent.library",
    "Hit": "vagent.types",
    "IndexReport": "vagent.types",
}

if TYPE_CHECKING:
    from vagent.agent import Agent, AgentConfig, AskResult
    from vagent.library import Library
    from vagent.types import Hit, IndexReport


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'vagent' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = ["Agent", "AgentConfig", "AskResult", "Hit", "IndexReport", "Library", "__version__"]
