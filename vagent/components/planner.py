"""The ``planner`` kind: splits a question into the sub-queries the agent searches for."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class Planner(ABC):
    """Splits a question into the sub-queries the agent searches for."""

    id: str

    @abstractmethod
    def plan(
        self, question: str, options: Sequence[str] | None, history: Sequence[dict[str, str]]
    ) -> list[str]:
        """Sub-queries (at least one) for ``question``; ``history``: earlier turns, oldest first."""
