"""Moved to ``vagent.search.hybrid`` and ``vagent.search.text`` (kept for importers not yet
updated; to be removed)."""

from __future__ import annotations

from vagent.search.hybrid import DEFAULT_WEIGHTS, MODES, hybrid_ranking
from vagent.search.text import TextState

__all__ = ["DEFAULT_WEIGHTS", "MODES", "TextState", "hybrid_ranking"]
