"""Benchmark subtitles where ``vagent index`` reads them: an ``.srt`` beside each video.

Video-MME keeps ``subtitle/<videoID>.srt`` apart from ``data/<videoID>.mp4``; LongVideoBench
ships JSON (``subtitles/<id>_en.json``: a list of ``{"timestamp": [start, end], "text"}`` or of
``{"start": "HH:MM:SS.mmm", "end", "line"}``). :func:`place_subtitles` turns each item's
subtitle file into SRT (JSON converted, SRT/VTT copied) and writes it beside the video as
``<video stem>.srt``, or into a folder of its own; an existing file there is kept.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from vagent.evaldata.items import EvalItem, Problem
from vagent.timefmt import srt_time

MAX_SUBTITLE_BYTES = 64 * 1024 * 1024


def _clock(value: Any) -> float:
    """Seconds from a number or an ``[HH:]MM:SS[.mmm]`` text (``,`` as the decimal mark too)."""
    if isinstance(value, bool):
        raise ValueError(f"time {value!r} is not a time")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        parts = value.strip().replace(",", ".").split(":")
        try:
            seconds = 0.0
            for p in parts:
                seconds = seconds * 60 + float(p)
        except ValueError:
            raise ValueError(f"time {value!r} is not [HH:]MM:SS") from None
    else:
        raise ValueError(f"time {value!r} is not a time")
    if not seconds >= 0:
        raise ValueError(f"time {value!r} is negative")
    return seconds


def json_cues(
    path: Path, offset: float = 0.0, duration: float | None = None
) -> list[tuple[float, float, str]]:
    """LongVideoBench's JSON subtitles as (start, end, text) on the video's clock.

    ``offset``: the entry's ``starting_timestamp_for_subtitles`` (the subtitles count from the
    source video's start, the clip starts that far in); cues before the clip are dropped. A
    cue without an end lasts to ``duration``. ``ValueError`` says what is wrong.
    """
    if path.stat().st_size > MAX_SUBTITLE_BYTES:
        raise ValueError(f"larger than {MAX_SUBTITLE_BYTES // 2**20} MiB")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"bad JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, list):
        raise ValueError(f"a list of cues is needed, not {type(data).__name__}")
    cues = []
    for n, cue in enumerate(data, 1):
        if not isinstance(cue, dict):
            raise ValueError(f"cue {n} is not an object")
        stamp = cue.get("timestamp")
        if isinstance(stamp, list) and len(stamp) == 2:
            start, end, text = stamp[0], stamp[1], cue.get("text")
        else:
            start, end, text = cue.get("start"), cue.get("end"), cue.get("line", cue.get("text"))
        try:
            a = _clock(start) - offset
            b = (duration if end is None and duration else _clock(end)) - offset
        except ValueError as exc:
            raise ValueError(f"cue {n}: {exc}") from None
        if isinstance(text, str) and text.strip() and b >= a and b > 0:
            cues.append((max(a, 0.0), b, " ".join(text.split())))
    return cues


def srt_text(cues: Sequence[tuple[float, float, str]]) -> str:
    """The SubRip file of ``cues`` (start, end, text)."""
    return "\n".join(
        f"{i}\n{srt_time(a)} --> {srt_time(b)}\n{text}\n" for i, (a, b, text) in enumerate(cues, 1)
    )


def place_subtitles(
    items: list[EvalItem], folder: Path | None = None
) -> tuple[list[EvalItem], list[Problem]]:
    """Each item's subtitles as ``<video stem>.srt`` beside its video (or in ``folder``).

    Returns the items pointing at the placed files and one problem per file that could not be
    read or written (its items keep no subtitles then). A file already at the target is kept.
    """
    placed: dict[str, str | None] = {}
    problems: list[Problem] = []
    out: list[EvalItem] = []
    for item in items:
        if item.subtitles is None:
            out.append(item)
            continue
        source = Path(item.subtitles)
        video = Path(item.video)
        suffix = ".vtt" if source.suffix.lower() == ".vtt" else ".srt"
        target = (folder or video.parent) / f"{video.stem}{suffix}"
        key = str(target)
        if key not in placed:
            placed[key] = key
            try:
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if source.suffix.lower() == ".json":
                        cues = json_cues(source, item.subtitles_offset or 0.0, item.duration)
                        target.write_text(srt_text(cues), encoding="utf-8")
                    else:
                        shutil.copyfile(source, target)
            except (OSError, ValueError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                problems.append(Problem(0, f"subtitles not placed at {target}: {why}", str(source)))
                placed[key] = None
        out.append(replace(item, subtitles=placed[key]))
    return out, problems
