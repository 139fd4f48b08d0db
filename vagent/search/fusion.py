"""Reciprocal rank fusion of ranked lists from several channels (visual, dense text, lexical).

Each channel lists only what it matched, best first; an item's fused score is the sum over the
channels that found it of ``weight / (k + rank)``. Items keep the names of the channels that
found them, so a hit can say why it is there.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
RRF_K = 60


def rrf(
    channels: Mapping[str, Sequence[K]],
    weights: Mapping[str, float] | None = None,
    k: int = RRF_K,
) -> list[tuple[K, float, list[str]]]:
    """Fuse ``channels`` (name -> items best first) into (item, score, channels), best first."""
    score: dict[K, float] = {}
    found: dict[K, list[str]] = {}
    for name, items in channels.items():
        w = 1.0 if weights is None else weights.get(name, 1.0)
        if w <= 0:
            continue
        seen: set[K] = set()
        for rank, item in enumerate(items, 1):
            if item in seen:
                continue
            seen.add(item)
            score[item] = score.get(item, 0.0) + w / (k + rank)
            found.setdefault(item, []).append(name)
    return sorted(((item, s, found[item]) for item, s in score.items()), key=lambda t: -t[1])
