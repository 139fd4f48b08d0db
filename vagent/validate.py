"""The allowed range of every number a user gives, checked at the edge (the CLI's options and the
Python API alike) before anything is written; and queries made safe to encode.

Each range is named as the user writes it (``--fps``), so one line says what was wrong and what
is allowed: ``--fps must be a number in (0, 60]; got 'inf'``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from vagent.errors import BadNumber


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def shown(value: object, width: int = 40) -> str:
    """``value`` for an error line: control characters escaped, long text cut."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class Range:
    """``[low, high]`` (``(low, high]`` when ``low_open``), whole numbers only when ``integer``."""

    name: str
    low: float
    high: float
    low_open: bool = False
    integer: bool = False
    shown: str = ""  # the range as the user writes it, when plain numbers would not do

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        lo = "(" if self.low_open else "["
        return f"{kind} in {self.shown or f'{lo}{_fmt(self.low)}, {_fmt(self.high)}]'}"

    def _bad(self, got: object) -> BadNumber:
        return BadNumber(f"{self.name} must be {self.describe()}; got '{shown(got)}'")

    def check(self, value: object) -> float:
        """``value`` (a number, or text from the command line) as a number in range, or
        :class:`BadNumber` naming the option and the allowed range."""
        if isinstance(value, str):
            number: float = self._parse(value)
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self._bad(value)
        else:
            try:
                number = float(value)
            except OverflowError:
                raise self._bad(value) from None
            if self.integer and not (math.isfinite(number) and number.is_integer()):
                raise self._bad(value)
        if not math.isfinite(number):
            raise self._bad(value)
        too_low = number <= self.low if self.low_open else number < self.low
        if too_low or number > self.high:
            raise self._bad(value)
        return number

    def _parse(self, text: str) -> float:
        try:
            return float(int(text.strip(), 10)) if self.integer else float(text)
        except (ValueError, OverflowError):
            raise self._bad(text) from None

    def check_int(self, value: object) -> int:
        return int(self.check(value))


# Sampling faster than 60 fps samples every frame of ordinary video: say so instead.
FPS = Range("--fps", 0, 60, low_open=True)
SEGMENT_SECONDS = Range("--segment-seconds", 0.5, 3600)
BATCH_SIZE = Range("--batch-size", 1, 1024, integer=True)
AUDIO_STREAM = Range("--audio-stream", 0, 63, integer=True)
K = Range("-k", 1, 1000, integer=True)
WEIGHT = Range("--weights", 0, 100)
TIMEOUT = Range("--timeout", 0, 86_400, low_open=True)
MAX_BYTES = Range("--max-bytes", 0, 2**50, shown="[0, 1024T]")
LIMIT = Range("--limit", 1, 10**9, integer=True)


def check_weights(weights: dict[str, float] | None, channels: tuple[str, ...]) -> None:
    """Fusion weights: known channel names, each a number in [0, 100]."""
    for name, value in (weights or {}).items():
        if name not in channels:
            raise BadNumber(
                f"--weights: unknown channel '{shown(name)}'; use {', '.join(channels)} "
                f"(e.g. visual=0.5,text=1)"
            )
        Range(f"--weights {name}=", WEIGHT.low, WEIGHT.high).check(value)


def clean_text(text: str) -> str:
    """``text`` with bytes that are not UTF-8 (surrogate escapes from the command line, lone
    surrogates from Python) replaced by U+FFFD, so every encoder and tokenizer can take it."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    raw = text.encode("utf-8", "surrogateescape" if _only_escapes(text) else "surrogatepass")
    return raw.decode("utf-8", "replace")


def _only_escapes(text: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)
