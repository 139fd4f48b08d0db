"""The ``judge`` kind: scores an open-ended answer against the benchmark's reference.

Without ``--judge``, ``vagent eval`` reports open answers (MLVU's 8_sub_scene and 9_summary)
and their count but scores none of them, as their benchmarks score them only with a model
judge. The built-in judges (``exact``, ``f1``) are lexical: they score wording, not meaning.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Judge(ABC):
    """Scores an open answer in [0, 1]; ``id`` names it (and its model) in eval reports."""

    id: str

    @abstractmethod
    def score(self, question: str, reference: str, answer: str) -> float:
        """How well ``answer`` matches ``reference`` for ``question``: 0 (wrong) to 1 (right)."""
