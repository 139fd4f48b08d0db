"""Times of a video as people read them: the one formatter the core and plugins share.

**Rounding rule**: a time is shown to the nearest whole second, halves rounding up, and times
below zero as zero (59.4 s is 0:59, 59.5 s and 59.6 s are 1:00). Every place that shows a
time (citations, answers, prompts, follow-up questions, CLI tables) rounds through
``whole_seconds``, so one moment reads the same everywhere.

``clock`` is the compact form (``m:ss``, ``h:mm:ss`` from an hour on): ``clock(75.4)`` is
"1:15", ``clock(3725)`` "1:02:05". ``hms`` is the fixed-width form for aligned tables
(``hh:mm:ss``): ``hms(75.4)`` is "00:01:15". ``srt_time`` is a subtitle file's timestamp, to the
nearest millisecond by the same rule (``hh:mm:ss,mmm``).
"""

from __future__ import annotations

import math


def whole_seconds(seconds: float) -> int:
    """``seconds`` rounded to the nearest whole second, halves up; below zero is 0."""
    t = float(seconds)
    if not math.isfinite(t):
        return 0
    return max(0, math.floor(t + 0.5))


def clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on (rounded by ``whole_seconds``)."""
    h, rest = divmod(whole_seconds(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def hms(seconds: float) -> str:
    """``hh:mm:ss`` (rounded by ``whole_seconds``), for columns that line up."""
    h, rest = divmod(whole_seconds(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def span(start: float, end: float) -> str:
    """``clock(start)-clock(end)``: a moment's time range."""
    return f"{clock(start)}-{clock(end)}"


def srt_time(seconds: float) -> str:
    """``hh:mm:ss,mmm`` as SubRip writes it: the nearest millisecond, halves up."""
    t = float(seconds)
    ms = max(0, math.floor(t * 1000 + 0.5)) if math.isfinite(t) else 0
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
