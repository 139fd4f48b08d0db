"""The ``judge`` kind: scores an open-ended answer against the benchmark's reference.

None is on by default: without ``--judge``, ``vagent eval`` reports open answers (MLVU's
8_sub_scene and 9_summary) and their count but scores none of them, as their benchmarks score
them only with a model judge. A judge whose scores do not reflect meaning (lexical matching,
random weights) says so with ``semantic = False``; eval labels its scores.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class Judge(ABC):
    """Scores an open answer in [0, 1]; ``id`` names it (and its model) in eval reports."""

    id: str
    semantic: bool = True  # False: its scores do not judge meaning (lexical, random weights)

    @abstractmethod
    def score(
        self, question: str, reference: str, answer: str, scoring_points: Sequence[str] = ()
    ) -> float:
        """How well ``answer`` matches ``reference`` for ``question``: 0 (wrong) to 1 (right).

        ``scoring_points`` are the benchmark's own points a good answer covers (MLVU's open
        tasks ship them); empty when it has none. A judge may ignore them.
        """
