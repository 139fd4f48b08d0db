"""Lexical matching (Okapi BM25) over text spans: names and numbers that embeddings blur.

Pure Python over the spans of one library generation, so it works with any catalog database.
Only spans that match the query are returned: a channel must never contribute documents it did
not match (that is what drags fused recall down). A span matches when the query terms it holds
carry at least ``MIN_COVERAGE`` of the query's IDF mass (see there why one shared common word is
not enough).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

from vagent.words import tokens

# The share of a query's IDF mass (the sum of its distinct terms' IDF; a term the library never
# holds counts with the largest IDF a term can have) that a span's terms must carry for the span
# to be a lexical hit. Without it a span sharing ONE common query word ("room", "weekend",
# "city") was a hit, and reciprocal rank fusion lifted such spans, found by both channels, above
# the dense channel's first-ranked answer to a reworded question (spoken needles, 0.5 h haystack:
# recall@5 0.70 -> 0.90 with the gate). What stays a hit: a one-term query's matches (its term is
# all the mass); a rare name among common words (the name's IDF dominates: one span in 1000 has
# IDF ~6.5, a word in every tenth span ~2.3); a span holding most of the query's words. Measured
# on the needle benchmarks (on-screen, subtitle, spoken): 0.2 to 0.5 rank every needle alike,
# 0.15 and below lose part of the gain; 0.3 sits inside that range with room on both sides.
MIN_COVERAGE = 0.3
# Below this many spans the gate is off: IDF needs a library to tell a common word from a rare
# one (in 3 spans a word held by 2 still weighs a quarter of a word held by none, so the
# quickstart's slide "step against the gradient" would drop out for "how big is each step").
MIN_GATED_SPANS = 20


class Bm25:
    """BM25 over ``docs``; ``search`` returns (doc index, score), best first, matches only."""

    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._tf: list[Counter[str]] = [Counter(tokens(d)) for d in docs]
        self._len = [sum(tf.values()) for tf in self._tf]
        self._avg = (sum(self._len) / len(self._len)) if self._len else 0.0
        self._postings: dict[str, list[int]] = defaultdict(list)
        for i, tf in enumerate(self._tf):
            for term in tf:
                self._postings[term].append(i)
        n = len(docs)
        self._idf = {
            t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self._postings.items()
        }
        self._unseen_idf = math.log(1 + (n + 0.5) / 0.5)  # a term in no span: the largest IDF

    def __len__(self) -> int:
        return len(self._tf)

    def search(
        self, query: str, k: int, min_coverage: float | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best spans whose query terms carry ``min_coverage`` (default
        ``MIN_COVERAGE``, or 0 below ``MIN_GATED_SPANS`` spans) of the query's IDF mass; 0 keeps
        every span sharing a term."""
        gate = min_coverage
        if gate is None:
            gate = MIN_COVERAGE if len(self._tf) >= MIN_GATED_SPANS else 0.0
        terms = set(tokens(query))
        mass = sum(self._idf.get(t, self._unseen_idf) for t in terms)
        scores: dict[int, float] = defaultdict(float)
        held: dict[int, float] = defaultdict(float)
        for term in terms:
            idf = self._idf.get(term)
            if idf is None:
                continue
            for i in self._postings[term]:
                tf = self._tf[i][term]
                norm = self.k1 * (1 - self.b + self.b * self._len[i] / (self._avg or 1.0))
                scores[i] += idf * tf * (self.k1 + 1) / (tf + norm)
                held[i] += idf
        floor = gate * mass * (1 - 1e-9)  # a span holding exactly the share passes
        hits = [(i, s) for i, s in scores.items() if held[i] >= floor]
        return sorted(hits, key=lambda kv: (-kv[1], kv[0]))[:k]
