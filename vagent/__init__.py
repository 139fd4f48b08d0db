"""vagent: index long videos, search them, and ask questions with timestamped answers."""

from __future__ import annotations

import logging

__version__ = "0.1.0"

from vagent.agent import Agent, AgentConfig, AskResult
from vagent.library import Library
from vagent.types import Hit, IndexReport

# vagent's log records are chatter: silent unless a front end shows them (VAGENT_DEBUG=1)
logging.getLogger("vagent").addHandler(logging.NullHandler())

__all__ = ["Agent", "AgentConfig", "AskResult", "Hit", "IndexReport", "Library", "__version__"]
