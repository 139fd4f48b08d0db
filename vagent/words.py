"""Words as vagent's lexical matching reads them: lower-cased runs of letters and digits,
without the words so common in questions that matching them says nothing about the answer.

A contract module: plugins that pick out query terms (the planners) use ``tokens`` so their
terms are the ones the text track's BM25 search (``vagent.search.lexical``) matches.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Words so common in questions that matching them says nothing about the answer.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "said",
        "say",
        "says",
        "shown",
        "show",
        "shows",
        "screen",
        "video",
    ]
)


def tokens(text: str) -> list[str]:
    """The words of ``text`` that matching counts, lower-cased, in order (``STOPWORDS`` out)."""
    return [t for t in _WORD.findall(text.lower()) if t not in STOPWORDS]
