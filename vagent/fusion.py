"""Moved to ``vagent.search.fusion`` (kept for importers not yet updated; to be removed)."""

from __future__ import annotations

from vagent.search.fusion import rrf

__all__ = ["rrf"]
