"""Multiple-choice options: strip their letters, check them, name them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from vagent.errors import VagentError
from vagent.evaldata.answers import LETTERS

_PREFIX = re.compile(r"^\s*[\(\[]?([A-Za-z])[\)\]\.:]\s+(?=\S)")


def letter(i: int) -> str:
    return LETTERS[i]


def parse_options(raw: Sequence[str] | None) -> list[str] | None:
    """``["A) red", "B) blue"]`` or ``["red", "blue"]`` -> ``["red", "blue"]``; None stays None.

    Letters, when given, must run A, B, C... in order. Raises VagentError on fewer than two
    options, more than 26, an empty option, or the same option twice.
    """
    if raw is None:
        return None
    items = [str(o) for o in raw]
    if len(items) < 2:
        raise VagentError(f"give at least two options (got {len(items)}): 'A) red' 'B) blue'")
    if len(items) > len(LETTERS):
        raise VagentError(f"at most {len(LETTERS)} options (got {len(items)})")
    found = [_PREFIX.match(o) for o in items]
    texts = []
    for i, (item, m) in enumerate(zip(items, found)):
        if m is not None and any(found):
            if m.group(1).upper() != LETTERS[i]:
                raise VagentError(
                    f"option {i + 1} ('{item}') is lettered {m.group(1).upper()}, expected "
                    f"{LETTERS[i]}: give options in order A, B, C..."
                )
            item = item[m.end() :]
        text = item.strip()
        if not text:
            raise VagentError(f"option {LETTERS[i]} is empty")
        texts.append(text)
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        j = seen.setdefault(t.casefold(), i)
        if j != i:
            raise VagentError(f"options {LETTERS[j]} and {LETTERS[i]} are the same ('{t}')")
    return texts


def labelled(options: Sequence[str]) -> list[str]:
    """``["red", "blue"]`` -> ``["A) red", "B) blue"]``."""
    return [f"{LETTERS[i]}) {o}" for i, o in enumerate(options)]
