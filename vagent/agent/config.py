"""The agent's knobs, with the defaults a user gets."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vagent.validate import TIMEOUT, Range


@dataclass
class AgentConfig:
    """How much the agent searches, shows and re-checks.

    ``k``: hits per sub-query. ``neighbours``: how many top hits get their adjacent segments
    added. ``max_segments``: evidence moments shown to the answerer. ``max_frames``: frames in
    total (capped further by the answerer's own ``max_frames``). ``coverage``: in select, how
    strongly a moment close in time to one already chosen is discounted (0 = relevance only).
    ``threshold``: verify accepts a draft at or above this confidence. ``refinements``: how many
    times verify may send a low-confidence draft back to retrieve (so at most 1 + refinements
    retrieval rounds). ``timeout_s``: per answerer call.
    """

    k: int = 10
    neighbours: int = 3
    max_segments: int = 8
    max_frames: int = 16
    coverage: float = 0.5
    threshold: float = 0.5
    refinements: int = 2
    timeout_s: float = 300.0
    search_mode: str | None = None

    def __post_init__(self) -> None:
        """Refuse numbers out of range (BadNumber, one line naming the field and the range)."""
        for name, allowed in _RANGES.items():
            value = allowed.check(getattr(self, name))
            setattr(self, name, int(value) if allowed.integer else value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_RANGES = {
    "k": Range("k", 1, 1000, integer=True),
    "neighbours": Range("neighbours", 0, 100, integer=True),
    "max_segments": Range("max_segments", 1, 1000, integer=True),
    "max_frames": Range("max_frames", 1, 1000, integer=True),
    "coverage": Range("coverage", 0, 100),
    "threshold": Range("threshold", 0, 1),
    "refinements": Range("refinements", 0, 10, integer=True),
    "timeout_s": Range("timeout_s", 0, TIMEOUT.high, low_open=True),
}
