"""vagent: index long videos, search them, and ask questions with timestamped answers."""

from __future__ import annotations

__version__ = "0.1.0"

from vagent.agent import Agent, AgentConfig, AskResult
from vagent.library import Library
from vagent.types import Hit, IndexReport

__all__ = ["Agent", "AgentConfig", "AskResult", "Hit", "IndexReport", "Library", "__version__"]
