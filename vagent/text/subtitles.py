"""Subtitles of a video as time-stamped text spans: SRT and WebVTT files, and text streams inside
the container (read with PyAV). Bad input never raises: what was wrong comes back as ``Problem``
records (one line each for the user) next to the spans that could be read.

All times are seconds (floats) from the start of the video. Work is bounded (see
``vagent.text.limits``): file bytes read, characters per cue, spans per video, problems per file.
"""

from __future__ import annotations

import codecs
import html
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import av

from vagent.ingest.discover import not_regular, printable
from vagent.text.limits import (
    MAX_CUE_CHARS,
    MAX_CUES,
    MAX_FILE_BYTES,
    Problem,
    cap_problems,
    limit_spans,
)
from vagent.text.sidecars import SUFFIXES, refusal, sidecar_candidates, sidecar_files
from vagent.types import TextSpan

__all__ = ["SOURCE", "SUFFIXES", "Problem", "read_subtitles", "sidecar_files"]

SOURCE = "subtitle"

Line = tuple[int, str]  # (1-based line number, stripped text)


Parsed = tuple[list[TextSpan], list[Problem]]  # (spans, problems) as every reader returns them


class _BadCue(Exception):
    """A cue that cannot be used; the message is the Problem's reason (without the cue label)."""


_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d+(?::\d{1,2}){1,2}(?:[.,]\d{1,3})?>")
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_ASS_BREAK = re.compile(r"\\[Nnh]")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Cue text as plain words: tags, ASS ``{\\...}`` blocks and line breaks become spaces."""
    text = _TAG.sub(" ", text)
    text = _ASS_OVERRIDE.sub("", text)
    text = _ASS_BREAK.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


_CLOCK = re.compile(r"(-?)(?:(\d{1,9}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?")


def _seconds(token: str) -> float:
    """``[h+:]mm:ss[,.ttt]`` as seconds; raises _BadCue for anything else or a negative time."""
    m = _CLOCK.fullmatch(token)
    if m is None:
        raise _BadCue(f"bad time {token!r}")
    sign, h, mm, ss, frac = m.groups()
    if int(mm) >= 60 or int(ss) >= 60:
        raise _BadCue(f"bad time {token!r}")
    if sign:
        raise _BadCue(f"negative time {token}")
    ms = (int(h or 0) * 3600 + int(mm) * 60 + int(ss)) * 1000 + int((frac or "0").ljust(3, "0"))
    return ms / 1000


def _timing(text: str) -> tuple[float, float]:
    """Start and end seconds of a ``start --> end [settings]`` line."""
    left, _, right = text.partition("-->")
    start_tok, end_tok = left.strip(), (right.split() or [""])[0]
    start, end = _seconds(start_tok), _seconds(end_tok)
    if end <= start:
        how = "before" if end < start else "equal to"
        raise _BadCue(f"end {end_tok} is {how} start {start_tok}")
    return start, end


def _blocks(lines: Iterable[Line]) -> list[list[Line]]:
    """Runs of non-blank lines; a second timing line in a run starts a new block (with the
    cue number just above it), so a missing blank line loses no cue."""
    blocks: list[list[Line]] = []
    cur: list[Line] = []
    timed = False  # cur holds a timing line (a flag, not a scan: blocks may be huge)
    for no, text in lines:
        if not text:
            cur, timed = [], False
            continue
        timing = "-->" in text
        if timing and timed:
            cur = [cur.pop()] if cur[-1][1].isdigit() and "-->" not in cur[-2][1] else []
            blocks.append(cur)
        elif not cur:
            blocks.append(cur)
        cur.append((no, text))
        timed = timed or timing
    return [b for b in blocks if b]


def _numbered(text: str) -> list[Line]:
    """Stripped lines with their 1-based numbers; only CR, LF and CRLF end a line."""
    lines = re.split(r"\r\n|\r|\n", text.lstrip("\ufeff"))
    return [(i, line.strip()) for i, line in enumerate(lines, 1)]


_LOOKS_TIMED = re.compile(r"\d:\d")


def _split_cue(block: list[Line]) -> tuple[str | None, Line | None, list[Line]]:
    """(identifier, timing line, text lines) of a block; timing None when it has none."""
    if "-->" in block[0][1]:
        return None, block[0], block[1:]
    if len(block) > 1 and "-->" in block[1][1]:
        return block[0][1], block[1], block[2:]
    return None, None, block


def _offending(block: list[Line]) -> Line:
    """The line of a timing-less block that was meant as its timing line (best guess)."""
    return next((line for line in block[:2] if _LOOKS_TIMED.search(line[1])), block[0])


def _cues(blocks: list[list[Line]], name: str, clean: Callable[[str], str]) -> Parsed:
    """Spans from cue blocks: ``[identifier] timing text...``; bad cues become Problems."""
    spans: list[TextSpan] = []
    problems: list[Problem] = []
    cut: list[str] = []  # labels of cues cut at MAX_CUE_CHARS
    after_cue = False  # the previous block was a good cue: text after a blank line continues it
    for ordinal, block in enumerate(blocks, 1):
        continues, after_cue = after_cue, False
        ident, timing_line, body = _split_cue(block)
        label = f"cue {ident if ident and len(ident) <= 20 else ordinal}"
        if timing_line is None:
            no, got = _offending(block)
            if continues and not _LOOKS_TIMED.search(got) and not block[0][1].isdigit():
                after_cue = True
                if len(spans[-1].text) >= MAX_CUE_CHARS:
                    continue  # already cut: joining more would only grow what is dropped
                more = clean(" ".join(t for _, t in block))
                text = f"{spans[-1].text} {more}".strip()
                if len(text) > MAX_CUE_CHARS:
                    cut.append(f"cue {ordinal - 1}")
                spans[-1] = replace(spans[-1], text=text[:MAX_CUE_CHARS])
                continue
            reason = f"cue {ordinal}: expected 'start --> end', got {got[:40]!r}; skipped"
            problems.append(Problem(name, no, reason))
            continue
        try:
            start, end = _timing(timing_line[1])
        except _BadCue as exc:
            problems.append(Problem(name, timing_line[0], f"{label}: {exc}; skipped"))
            continue
        words = clean(" ".join(t for _, t in body))
        if len(words) > MAX_CUE_CHARS:
            cut.append(label)
            words = words[:MAX_CUE_CHARS]
        if words:
            spans.append(TextSpan(start, end, SOURCE, words))
        after_cue = bool(words)
    if cut:
        more = f" and {len(cut) - 1:,} more" if len(cut) > 1 else ""
        reason = f"{cut[0]}{more}: longer than {MAX_CUE_CHARS:,} characters; the rest cut off"
        problems.append(Problem(name, None, reason))
    return spans, problems


def parse_srt(text: str, name: str) -> Parsed:
    """SubRip text -> (spans in file order, problems). Times in seconds; ``name`` labels problems.

    Malformed cues are reported at their timing line and skipped; cues left without text are
    dropped silently; overlapping cues are kept.
    """
    return _cues(_blocks(_numbered(text)), name, clean_text)


_VTT_SKIP = re.compile(r"(NOTE|STYLE|REGION)(\s|$)")


def _vtt_clean(text: str) -> str:
    """clean_text, then WebVTT's character references (``&amp;``, ``&lt;``, ``&nbsp;``)."""
    return _SPACE.sub(" ", html.unescape(clean_text(text))).strip()


def parse_vtt(text: str, name: str) -> Parsed:
    """WebVTT text -> (spans in file order, problems), times in seconds.

    Without a ``WEBVTT`` first line: no spans and one Problem. NOTE/STYLE/REGION blocks and cue
    settings are ignored; bad cues are reported at their timing line and skipped.
    """
    lines = _numbered(text)
    if not lines or not re.match(r"WEBVTT(\s|$)", lines[0][1]):
        return [], [Problem(name, 1, "no 'WEBVTT' header; not a WebVTT file")]
    i = 1
    while i < len(lines) and lines[i][1] and "-->" not in lines[i][1]:
        i += 1  # header metadata (Kind:, Language:)
    blocks = [b for b in _blocks(lines[i:]) if not _VTT_SKIP.match(b[0][1])]
    return _cues(blocks, name, _vtt_clean)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_bytes(data: bytes, name: str) -> tuple[str, list[Problem]]:
    """Bytes -> (text, problems). A BOM decides the encoding; else UTF-8; else cp1252 (or
    latin-1 for bytes cp1252 lacks) with one Problem at the first line that is not UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            try:
                return body.decode(encoding), []
            except UnicodeDecodeError:
                bad = Problem(name, None, f"invalid {encoding} bytes replaced")
                return body.decode(encoding, "replace"), [bad]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
    try:
        text, encoding = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    return text, [Problem(name, line, f"not UTF-8; read as {encoding}")]


def read_bounded(
    path: Path, name: str, limit: int = MAX_FILE_BYTES, nofollow: bool = False
) -> tuple[bytes | None, list[Problem]]:
    """The first ``limit`` bytes of a regular file (cut at its last whole line when longer, and
    said so); None and a Problem for anything else. Opened non-blocking: a FIFO cannot hang it."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (os.O_NOFOLLOW if nofollow else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return None, [Problem(name, None, f"cannot read: {exc.strerror or exc}")]
    st = os.fstat(fd)
    why = not_regular(st.st_mode)
    if why:
        os.close(fd)
        return None, [Problem(name, None, f"cannot read: {why}")]
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            return None, [Problem(name, None, f"cannot read: {exc.strerror or exc}")]
    if len(data) <= limit:
        return data, []
    near = max(0, limit - 2**16)
    # the last whole cue (a blank line), else the last whole line, if near the limit
    end = max(data.rfind(b"\n\n", near, limit), data.rfind(b"\n\r\n", near, limit))
    if end < 0:
        end = data.rfind(b"\n", near, limit)
    if end >= 0:
        end += 1
    else:  # one giant line: cut it, but not inside a UTF-8 character
        end = limit
        while end > limit - 4 and data[end] & 0xC0 == 0x80:
            end -= 1
    data = data[:end]
    size = max(st.st_size, limit + 1)
    reason = f"{size:,} bytes; read the first {len(data):,} only (limit {limit // 2**20} MiB)"
    return data, [Problem(name, None, reason)]


def read_subtitle_file(
    path: str | Path, label: str | None = None, nofollow: bool = False
) -> Parsed:
    """An .srt or .vtt file -> (spans sorted by start, seconds; problems). Other suffixes are
    read as WebVTT when the text starts with ``WEBVTT``, else as SubRip. Never raises.

    ``label`` names the file in problems (default: ``path``); ``nofollow``: refuse a symlink."""
    path = Path(path)
    name = printable(label if label is not None else path)
    data, problems = read_bounded(path, name, nofollow=nofollow)
    if data is None:
        return [], problems
    text, more = decode_bytes(data, name)
    problems += more
    suffix = path.suffix.lower()
    is_vtt = suffix == ".vtt" or (suffix != ".srt" and text.lstrip("\ufeff").startswith("WEBVTT"))
    spans, more = (parse_vtt if is_vtt else parse_srt)(text, name)
    return sorted(spans, key=lambda s: s.start), cap_problems(problems + more, name)


def embedded_subtitles(path: str | Path) -> Parsed:
    """Text subtitle streams inside a video -> (spans, problems), times in seconds on the same
    clock as the video's frames (the first video stream's start time is subtracted).

    Bitmap subtitle streams are reported and skipped; FFmpeg errors become Problems.
    """
    name = str(path)
    try:
        if not_regular(os.stat(name).st_mode):
            return [], []  # never opened: a FIFO would block FFmpeg
        with av.open(name) as container:
            return _read_container(container, name)
    except (av.FFmpegError, OSError) as exc:
        return [], [Problem(name, None, f"cannot read embedded subtitles: {exc}")]


def _read_container(container: Any, name: str) -> Parsed:
    problems: list[Problem] = []
    streams = []
    for stream in container.streams.subtitles:
        codec = stream.codec_context.codec if stream.codec_context else None
        if codec is None:
            problems.append(Problem(name, None, f"stream {stream.index}: no subtitle decoder"))
        elif codec.bitmap_sub:
            kind = codec.canonical_name
            problems.append(Problem(name, None, f"bitmap subtitles ({kind}) are not read"))
        else:
            streams.append(stream)
    if not streams:
        return [], problems
    origin = _video_origin(container)
    spans: list[TextSpan] = []
    try:
        for packet in container.demux(*streams):
            spans.extend(_packet_spans(packet, origin, name, problems))
            if len(spans) > MAX_CUES:
                reason = f"more than {MAX_CUES:,} subtitle events; the rest not read"
                problems.append(Problem(name, None, reason))
                break
    except av.FFmpegError as exc:
        problems.append(Problem(name, None, f"subtitles stopped early: {exc}"))
    return spans, problems


def _video_origin(container: Any) -> float:
    """Seconds the first video stream starts at (the decoder's time 0), 0 without video."""
    for vs in container.streams.video:
        if vs.start_time is not None and vs.time_base is not None:
            return float(vs.start_time * vs.time_base)
    return 0.0


def _packet_spans(packet: Any, origin: float, name: str, problems: list[Problem]) -> list[TextSpan]:
    """One decoded subtitle packet as spans (one span joining all its text rects)."""
    if packet.pts is None or packet.time_base is None or packet.size == 0:
        return []
    at = float(packet.pts * packet.time_base)
    try:
        sub = packet.stream.codec_context.decode2(packet)
    except av.FFmpegError as exc:
        tag = f"stream {packet.stream.index}:"
        if not any(p.reason.startswith(tag) for p in problems):  # one per stream, not thousands
            reason = (
                f"{tag} bad subtitle at {at - origin:.3f}s ({exc}); skipped, and any later ones"
            )
            problems.append(Problem(name, None, reason))
        return []
    if sub is None:
        return []
    words = " ".join(w for w in (_rect_text(r) for r in sub.rects) if w)
    times = _sub_times(packet, sub, at)
    if not words or times is None:
        return []
    start, end = max(0.0, times[0] - origin), times[1] - origin
    return [TextSpan(start, end, SOURCE, words)] if end > start else []


def _sub_times(packet: Any, sub: Any, at: float) -> tuple[float, float] | None:
    """Start and end seconds: packet pts (stream time base) plus the subtitle's display times
    (milliseconds after pts); the end from the packet duration when it has one."""
    start = at + sub.start_display_time / 1000
    if packet.duration:
        return start, float((packet.pts + packet.duration) * packet.time_base)
    if sub.start_display_time < sub.end_display_time < 2**31:
        return start, at + sub.end_display_time / 1000
    return None


def _rect_text(rect: Any) -> str:
    """Plain text of a decoded rect: the Text field of its ASS event line, or its ``text``."""
    ass = bytes(getattr(rect, "ass", b"") or b"").decode("utf-8", "replace")
    if ass:
        fields = 10 if ass.startswith("Dialogue:") else 9
        parts = ass.split(",", fields - 1)
        return clean_text(parts[-1] if len(parts) == fields else ass)
    return clean_text(bytes(getattr(rect, "text", b"") or b"").decode("utf-8", "replace"))


def read_subtitles(video: str | Path, duration: float | None = None) -> Parsed:
    """Embedded and sidecar subtitles of ``video`` -> (spans sorted by start in seconds, problems);
    spans with the same start, end (to the millisecond) and text are kept once.

    Sidecars that resolve outside the video's folder, or are not regular files, are reported and
    not read. Spans are bounded (``limit_spans``): with ``duration``, none starts after the
    video's end and none ends after it."""
    spans, problems = embedded_subtitles(video)
    folder = Path(video).parent.resolve()
    for path in sidecar_candidates(video):
        why = refusal(path, folder)
        if why:
            problems.append(Problem(printable(path), None, why))
            continue
        more, trouble = read_subtitle_file(path.resolve(), label=str(path), nofollow=True)
        spans += more
        problems += trouble
    unique: dict[tuple[float, float, str], TextSpan] = {}
    for span in spans:
        unique.setdefault((round(span.start, 3), round(span.end, 3), span.text), span)
    ordered = sorted(unique.values(), key=lambda s: s.start)
    kept, bounded = limit_spans(ordered, duration, printable(video))
    return kept, problems + bounded
