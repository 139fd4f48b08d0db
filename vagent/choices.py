"""Multiple-choice options: the one parser for what a user, a client or a data set gives.

**The rule.** An option *carries a letter* when it starts with one and a mark: ``A) red``,
``A. red``, ``A: red``, ``(A) red`` or ``[A] red`` (either case; after ``A)``, ``A.``, ``A:``
a space or the end must follow, so "A.I. writes" carries none). The letters are stripped only
when every option carries its own letter in order, A, B, C...; otherwise every option is taken
as written. ``["A) red", "B) blue"]`` and ``["red", "blue"]`` both give ``["red", "blue"]``;
``["A) red", "blue"]`` is not lettered throughout, so it is taken as written.

``strict`` (what a person or a client typed: the CLI, the Python API, ``vagent serve`` and its
MCP tools) refuses a list that carries some letters but is not lettered A, B, C... throughout:
it is a typo more likely than an option that starts with a letter, and the answerer would see
it twice. Data sets (``vagent eval``, the converters) are lenient: they keep such a list as
written, the way the official scoring reads it.

Either way there are 2 to 26 options, none empty, none the same as another (case, runs of
spaces and a final full stop do not count; data sets may keep repeats: ``repeats``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from vagent.errors import VagentError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""Option letters, in order: option ``i`` is ``LETTERS[i]``."""

_LETTERED = re.compile(r"^\s*(?:[(\[]([A-Za-z])[)\]]\s*|([A-Za-z])[.):：．](?:\s+|$))")


class BadOptions(VagentError, ValueError):
    """Options that cannot be asked; the message is the one-line reason."""


def letter(i: int) -> str:
    """The letter of option ``i`` (0-based)."""
    return LETTERS[i]


def carried(text: str) -> tuple[str, str] | None:
    """``(letter, rest)`` when ``text`` starts with a letter and its mark, else None."""
    m = _LETTERED.match(text)
    if m is None:
        return None
    return (m.group(1) or m.group(2)).upper(), text[m.end() :]


def _text(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadOptions(f"{what} is {type(value).__name__}, not text")
    return str(value).strip()


def key(text: str) -> str:
    """Comparison form of an option: case, runs of spaces and a final full stop don't count."""
    return " ".join(text.split()).casefold().rstrip(".")


def repeats(options: Sequence[str]) -> str | None:
    """``option D repeats option A ('Blue')`` for the first repeat, else None."""
    seen: dict[str, int] = {}
    for i, t in enumerate(options):
        first = seen.setdefault(key(t), i)
        if first != i:
            return f"option {LETTERS[i]} repeats option {LETTERS[first]} ({t!r})"
    return None


def parse(raw: Any, *, strict: bool = True, allow_repeats: bool = False) -> list[str]:
    """The option texts of ``raw`` by the module's rule; raises ``BadOptions`` (a VagentError
    and a ValueError) with the one-line reason."""
    if not isinstance(raw, list | tuple):
        raise BadOptions(f"a list is needed, not {type(raw).__name__}")
    if len(raw) < 2:
        raise BadOptions(f"{len(raw)} given, at least two are needed: 'A) red' 'B) blue'")
    if len(raw) > len(LETTERS):
        raise BadOptions(f"{len(raw)} given, at most {len(LETTERS)}")
    texts = [_text(o, f"option {LETTERS[i]}") for i, o in enumerate(raw)]
    found = [carried(t) for t in texts]
    if all(f is not None and f[0] == LETTERS[i] for i, f in enumerate(found)):
        texts = [f[1].strip() for f in found if f is not None]
    elif strict and any(found):
        _refuse_letters(texts, found)
    for i, t in enumerate(texts):
        if not t:
            raise BadOptions(f"option {LETTERS[i]} is empty")
    repeat = repeats(texts)
    if repeat and not allow_repeats:
        raise BadOptions(f"{repeat}: options that are the same cannot be told apart")
    return texts


def _refuse_letters(texts: list[str], found: list[tuple[str, str] | None]) -> None:
    for i, (text, f) in enumerate(zip(texts, found)):
        if f is None:
            raise BadOptions(
                f"option {LETTERS[i]} ('{text}') has no letter while others have: letter "
                f"every option in order A, B, C... or none"
            )
        if f[0] != LETTERS[i]:
            raise BadOptions(
                f"option {LETTERS[i]} ('{text}') is lettered {f[0]}, expected {LETTERS[i]}: "
                f"give options in order A, B, C..."
            )


def labelled(options: Sequence[str]) -> list[str]:
    """``["red", "blue"]`` -> ``["A) red", "B) blue"]``."""
    return [f"{LETTERS[i]}) {o}" for i, o in enumerate(options)]
