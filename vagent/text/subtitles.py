"""Subtitles of a video as time-stamped text spans: SRT and WebVTT files, and text streams inside
the container (read with PyAV). Bad input never raises: what was wrong comes back as ``Problem``
records (one line each for the user) next to the spans that could be read.

All times are seconds (floats) from the start of the video.
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av

from vagent.types import TextSpan

SOURCE = "subtitle"
SUFFIXES = (".srt", ".vtt")

Line = tuple[int, str]  # (1-based line number, stripped text)


@dataclass(frozen=True)
class Problem:
    """Something wrong in a subtitle source: ``file``, 1-based ``line`` (None: the whole file)."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


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


_CLOCK = re.compile(r"(-?)(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?")


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
    for no, text in lines:
        if not text:
            cur = []
            continue
        if "-->" in text and any("-->" in t for _, t in cur):
            cur = [cur.pop()] if cur[-1][1].isdigit() and "-->" not in cur[-2][1] else []
            blocks.append(cur)
        elif not cur:
            blocks.append(cur)
        cur.append((no, text))
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
    after_cue = False  # the previous block was a good cue: text after a blank line continues it
    for ordinal, block in enumerate(blocks, 1):
        continues, after_cue = after_cue, False
        ident, timing_line, body = _split_cue(block)
        label = f"cue {ident if ident and len(ident) <= 20 else ordinal}"
        if timing_line is None:
            no, got = _offending(block)
            if continues and not _LOOKS_TIMED.search(got) and not block[0][1].isdigit():
                more = clean(" ".join(t for _, t in block))
                spans[-1] = replace(spans[-1], text=f"{spans[-1].text} {more}".strip())
                after_cue = True
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
        if words:
            spans.append(TextSpan(start, end, SOURCE, words))
        after_cue = bool(words)
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


def read_subtitle_file(path: str | Path) -> Parsed:
    """An .srt or .vtt file -> (spans sorted by start, seconds; problems). Other suffixes are
    read as WebVTT when the text starts with ``WEBVTT``, else as SubRip. Never raises."""
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [Problem(name, None, f"cannot read: {exc.strerror or exc}")]
    text, problems = decode_bytes(data, name)
    suffix = path.suffix.lower()
    is_vtt = suffix == ".vtt" or (suffix != ".srt" and text.lstrip("\ufeff").startswith("WEBVTT"))
    spans, more = (parse_vtt if is_vtt else parse_srt)(text, name)
    return sorted(spans, key=lambda s: s.start), problems + more


def sidecar_files(video: str | Path) -> list[Path]:
    """Subtitle files beside ``video``: ``<stem>.srt|vtt`` or ``<stem>.<tag>.srt|vtt``, sorted."""
    video = Path(video)
    try:
        entries = list(video.parent.iterdir())
    except OSError:
        return []
    return sorted(p for p in entries if _is_sidecar(p.name, video.stem) and p.is_file())


def _is_sidecar(filename: str, stem: str) -> bool:
    base, dot, suffix = filename.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES:
        return False
    return base == stem or (base.startswith(f"{stem}.") and len(base) > len(stem) + 1)


def embedded_subtitles(path: str | Path) -> Parsed:
    """Text subtitle streams inside a video -> (spans, problems), times in seconds on the same
    clock as the video's frames (the first video stream's start time is subtracted).

    Bitmap subtitle streams are reported and skipped; FFmpeg errors become Problems.
    """
    name = str(path)
    try:
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


def read_subtitles(video: str | Path) -> Parsed:
    """Embedded and sidecar subtitles of ``video`` -> (spans sorted by start in seconds, problems);
    spans with the same start, end (to the millisecond) and text are kept once."""
    spans, problems = embedded_subtitles(video)
    for path in sidecar_files(video):
        more, trouble = read_subtitle_file(path)
        spans += more
        problems += trouble
    unique: dict[tuple[float, float, str], TextSpan] = {}
    for span in spans:
        unique.setdefault((round(span.start, 3), round(span.end, 3), span.text), span)
    return sorted(unique.values(), key=lambda s: s.start), problems
