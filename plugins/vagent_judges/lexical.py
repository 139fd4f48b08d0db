"""Lexical judges: normalise both texts to words, then compare them."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from vagent.components import Judge

ARTICLES = frozenset({"a", "an", "the"})


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (NFKC), punctuation and English articles removed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(ch).startswith(("P", "S")) else ch for ch in text)
    return [w for w in re.split(r"\s+", kept) if w and w not in ARTICLES]


class ExactMatch(Judge):
    id = "exact"
    semantic = False  # same words, not same meaning

    def score(
        self, question: str, reference: str, answer: str, scoring_points: Sequence[str] = ()
    ) -> float:
        return 1.0 if words(reference) == words(answer) else 0.0


class TokenF1(Judge):
    id = "f1"
    semantic = False

    def score(
        self, question: str, reference: str, answer: str, scoring_points: Sequence[str] = ()
    ) -> float:
        want, got = Counter(words(reference)), Counter(words(answer))
        if not want or not got:
            return 1.0 if not want and not got else 0.0
        common = sum((want & got).values())
        if common == 0:
            return 0.0
        precision, recall = common / sum(got.values()), common / sum(want.values())
        return 2 * precision * recall / (precision + recall)
