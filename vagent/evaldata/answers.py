"""Options and answers of one question: strip letter prefixes, turn any answer form into a letter.

A multiple-choice answer may come as a letter ("B"), a lettered option ("B) text", "(B) text",
"B. text"), a 0-based index (1) or the option's own text; each becomes the letter "B". An open
question keeps its free-text answer. Every rejection is a ``ValueError`` whose message is the
one-line reason a reader reports.
"""

from __future__ import annotations

import re
from typing import Any

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# "A. text", "A) text", "A: text" (whitespace or the end required after the mark, so "A.I. rules"
# stays whole) and "(A) text".
_PREFIX = re.compile(r"^\s*(?:\(([A-Z])\)\s*|([A-Z])[.):：．](?:\s+|$))")
# A bare lettered answer: "B", "(B)", "B.", "B)", "B:".
_BARE = re.compile(r"^\(?([A-Za-z])[.):：．]?\)?$")


def _prefix_letter(text: str) -> tuple[str, str] | None:
    m = _PREFIX.match(text)
    if not m:
        return None
    return (m.group(1) or m.group(2)), text[m.end() :]


def _key(text: str) -> str:
    """Comparison form of an option: case, runs of spaces and a final full stop don't count."""
    return " ".join(text.split()).casefold().rstrip(".")


def _scalar_text(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{what} is {type(value).__name__}, not text")
    return str(value).strip()


def clean_options(raw: Any, allow_repeats: bool = False) -> list[str]:
    """The option texts without letter prefixes; malformed lists raise ``ValueError``.

    A repeated option is refused unless ``allow_repeats`` (official scoring keeps such items:
    :func:`repeated_option` names the repeat).
    """
    if not isinstance(raw, list | tuple):
        raise ValueError(f"malformed options: a list is needed, not {type(raw).__name__}")
    if len(raw) < 2:
        raise ValueError(f"malformed options: {len(raw)} given, at least 2 are needed")
    if len(raw) > len(LETTERS):
        raise ValueError(f"malformed options: {len(raw)} given, at most {len(LETTERS)}")
    texts = [_scalar_text(o, f"option {LETTERS[i]}") for i, o in enumerate(raw)]
    prefixed = [_prefix_letter(t) for t in texts]
    # Strip only when every option carries its own letter in order: a list where some do and
    # some don't is taken as written.
    if all(p is not None and p[0] == LETTERS[i] for i, p in enumerate(prefixed)):
        texts = [p[1].strip() for p in prefixed if p is not None]
    for i, t in enumerate(texts):
        if not t:
            raise ValueError(f"malformed options: option {LETTERS[i]} is empty")
    repeat = repeated_option(texts)
    if repeat and not allow_repeats:
        raise ValueError(f"malformed options: {repeat}")
    return texts


def repeated_option(options: list[str]) -> str | None:
    """``option D repeats option A ('Blue')`` for the first repeat, else None."""
    seen: dict[str, int] = {}
    for i, t in enumerate(options):
        first = seen.setdefault(_key(t), i)
        if first != i:
            return f"option {LETTERS[i]} repeats option {LETTERS[first]} ({t!r})"
    return None


def _letter_in_range(letter: str, options: list[str], raw: Any) -> str:
    if LETTERS.index(letter) >= len(options):
        raise ValueError(
            f"answer {raw!r} is not among the options (there are {len(options)}: "
            f"A-{LETTERS[len(options) - 1]})"
        )
    return letter


def choice_letter(raw: Any, options: list[str]) -> str:
    """The letter of the option ``raw`` names (letter, lettered text, 0-based index, or text)."""
    if isinstance(raw, bool):
        raise ValueError(f"answer {raw!r} is not among the options")
    if isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer()):
        i = int(raw)
        if not 0 <= i < len(options):
            raise ValueError(
                f"answer index {i} is not among the options (0-{len(options) - 1}, 0-based)"
            )
        return LETTERS[i]
    if not isinstance(raw, str):
        raise ValueError(f"answer is {type(raw).__name__}, not a letter, index or option text")
    text = raw.strip()
    if not text:
        raise ValueError("answer is empty")
    if len(text) == 1 and text in LETTERS:
        return _letter_in_range(text, options, raw)
    keys = [_key(o) for o in options]
    if _key(text) in keys:
        return LETTERS[keys.index(_key(text))]
    bare = _BARE.match(text)
    if bare:
        return _letter_in_range(bare.group(1).upper(), options, raw)
    lettered = _prefix_letter(text)
    if lettered:
        letter = _letter_in_range(lettered[0], options, raw)
        if _key(lettered[1]) != keys[LETTERS.index(letter)]:
            raise ValueError(
                f"answer {raw!r} names option {letter}, but option {letter} is "
                f"{options[LETTERS.index(letter)]!r}"
            )
        return letter
    raise ValueError(f"answer {raw!r} is not among the options")


def open_answer(raw: Any) -> str:
    """The free-text answer of an open question."""
    text = _scalar_text(raw, "answer")
    if not text:
        raise ValueError("answer is empty")
    return text
