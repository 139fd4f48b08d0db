"""The question-answering agent: plan, retrieve, select, gather, answer, verify, finish."""

from __future__ import annotations

from vagent.agent.api import Agent, AskResult, Citation
from vagent.agent.config import AgentConfig

__all__ = ["Agent", "AgentConfig", "AskResult", "Citation"]
