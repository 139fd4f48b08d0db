"""The agent's knobs, with the defaults a user gets."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
