"""Options and answers of one question: strip letter prefixes, turn any answer form into a letter.

A multiple-choice answer may come as a letter ("B"), a lettered option ("B) text", "(B) text",
"B. text"), a 0-based index (1) or the option's own text; each becomes the letter "B". An open
question keeps its free-text answer. Every rejection is a ``ValueError`` whose message is the
one-line reason a reader reports.
"""

from __future__ import annotations

import re
from typing import Any

from vagent.choices import LETTERS, BadOptions, carried, key, parse, repeats

# A bare lettered answer: "B", "(B)", "B.", "B)", "B:".
_BARE = re.compile(r"^\(?([A-Za-z])[.):：．]?\)?$")


def _scalar_text(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{what} is {type(value).__name__}, not text")
    return str(value).strip()


def clean_options(raw: Any, allow_repeats: bool = False) -> list[str]:
    """The option texts without letter prefixes, by ``vagent.choices``' rule, read leniently
    (a list not lettered A, B, C... throughout is taken as written); malformed lists raise
    ``ValueError``. A repeated option is refused unless ``allow_repeats`` (official scoring
    keeps such items: :func:`repeated_option` names the repeat).
    """
    try:
        return parse(raw, strict=False, allow_repeats=allow_repeats)
    except BadOptions as exc:
        raise ValueError(f"malformed options: {exc}") from None


def repeated_option(options: list[str]) -> str | None:
    """``option D repeats option A ('Blue')`` for the first repeat, else None."""
    return repeats(options)


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
    keys = [key(o) for o in options]
    if key(text) in keys:
        return LETTERS[keys.index(key(text))]
    bare = _BARE.match(text)
    if bare:
        return _letter_in_range(bare.group(1).upper(), options, raw)
    lettered = carried(text)
    if lettered:
        letter = _letter_in_range(lettered[0], options, raw)
        if key(lettered[1]) != keys[LETTERS.index(letter)]:
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
