"""Subtitles as text spans: SRT/VTT parsing, decoding, sidecar discovery, embedded streams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from vagent.synth import make_video
from vagent.text.subtitles import (
    Problem,
    clean_text,
    decode_bytes,
    embedded_subtitles,
    parse_srt,
    parse_vtt,
    read_subtitle_file,
    read_subtitles,
    sidecar_files,
)
from vagent.types import TextSpan


def span(start: float, end: float, text: str) -> TextSpan:
    return TextSpan(start, end, "subtitle", text)


CLEAN_SRT = """1
00:00:01,000 --> 00:00:02,500
<i>Hello</i> <font color="#ff0000">world</font>

2
00:00:03,250 --> 00:01:04,000
{\\an8}Second line\\Nwith a break
and a real newline

3
01:00:00,000 --> 01:00:01,001
<b>last</b>
"""


def test_clean_srt_gives_seconds_and_plain_text() -> None:
    spans, problems = parse_srt(CLEAN_SRT, "a.srt")
    assert problems == []
    assert spans == [
        span(1.0, 2.5, "Hello world"),
        span(3.25, 64.0, "Second line with a break and a real newline"),
        span(3600.0, 3601.001, "last"),
    ]
    assert all(isinstance(s.start, float) and isinstance(s.end, float) for s in spans)


def test_srt_malformed_cues_are_reported_at_their_line_and_skipped() -> None:
    text = (
        "1\n"  # 1
        "00:00:01,000 --> 00:00:02,000\n"  # 2
        "good one\n"  # 3
        "\n"  # 4
        "2\n"  # 5
        "00:00:03,000 -> 00:00:04,000\n"  # 6  arrow broken
        "lost\n"  # 7
        "\n"  # 8
        "3\n"  # 9
        "00:00:05,000 --> 00:0x:06,000\n"  # 10 bad end time
        "lost too\n"  # 11
        "\n"  # 12
        "4\n"  # 13
        "00:00:07,000 --> 00:00:08,000\n"  # 14
        "good two\n"  # 15
    )
    spans, problems = parse_srt(text, "m.srt")
    assert [s.text for s in spans] == ["good one", "good two"]
    assert [(p.file, p.line) for p in problems] == [("m.srt", 6), ("m.srt", 10)]
    assert "cue 2" in problems[0].reason and "skipped" in problems[0].reason
    assert "'00:0x:06,000'" in problems[1].reason and problems[1].reason.startswith("cue 3:")


def test_srt_negative_reversed_and_empty_duration_cues() -> None:
    text = (
        "1\n-00:00:01,000 --> 00:00:02,000\nnegative\n\n"  # timing on line 2
        "12\n00:01:05,000 --> 00:01:02,000\nreversed\n\n"  # line 6
        "13\n00:01:05,000 --> 00:01:05,000\nzero length\n\n"  # line 10
        "14\n00:01:06,000 --> 00:01:07,000\nkept\n"
    )
    spans, problems = parse_srt(text, "n.srt")
    assert spans == [span(66.0, 67.0, "kept")]
    assert [p.line for p in problems] == [2, 6, 10]
    assert "negative time -00:00:01,000" in problems[0].reason
    assert problems[1].reason == "cue 12: end 00:01:02,000 is before start 00:01:05,000; skipped"
    assert problems[2].reason == "cue 13: end 00:01:05,000 is equal to start 00:01:05,000; skipped"


def test_srt_separators_hours_crlf_blank_lines_and_missing_numbers() -> None:
    text = (
        "\r\n\r\n1\r\n00:00:01.500 --> 00:00:02,750   \r\ndot and comma  \r\n\r\n\r\n\r\n"
        "00:00:03,000 --> 00:00:04.000\r\nno number\r\n\r\n"
        "123:00:00,000 --> 123:00:01,000\r\nmany hours\r\n"
    )
    spans, problems = parse_srt(text, "c.srt")
    assert problems == []
    assert spans == [
        span(1.5, 2.75, "dot and comma"),
        span(3.0, 4.0, "no number"),
        span(123 * 3600.0, 123 * 3600.0 + 1, "many hours"),
    ]


def test_srt_keeps_overlaps_drops_empty_text_and_survives_missing_blank_line() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:05,000\nlong one\n"
        "2\n00:00:02,000 --> 00:00:03,000\noverlapping, no blank line before\n\n"
        "3\n00:00:06,000 --> 00:00:07,000\n<i> </i>\n\n"
        "4\n00:00:08,000 --> 00:00:09,000\n"
    )
    spans, problems = parse_srt(text, "o.srt")
    assert problems == []
    assert spans == [
        span(1.0, 5.0, "long one"),
        span(2.0, 3.0, "overlapping, no blank line before"),
    ]


def test_srt_text_after_a_blank_line_continues_the_cue() -> None:
    text = (
        "1\r00:00:01,000 --> 00:00:02,000\rfirst part\r\rsecond part\r\r"  # CR-only line ends
        "2\r00:00:03,000 --> 00:00:04,000\rnext\r\r"
        "stray\r00:00:05,000 -> 00:00:06,000\rbroken arrow\r"  # line 12 is the bad timing
    )
    spans, problems = parse_srt(text, "p.srt")
    assert spans == [span(1.0, 2.0, "first part second part"), span(3.0, 4.0, "next")]
    assert [(p.line, p.reason[:30]) for p in problems] == [(12, "cue 4: expected 'start --> end")]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<i>a</i> <b>b</b>", "a b"),
        ('<font color="red" size=3>c</font>', "c"),
        ("<c.yellow>d</c> <00:01.000>e <01:02:03.500>f", "d e f"),
        ("{\\an8}{\\i1}g{\\i0}", "g"),
        ("h\\Ni\nj\r\n  k\t", "h i j k"),
        ("x < y and 2 > 1", "x < y and 2 > 1"),
        ("  ", ""),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


VTT = """WEBVTT - a title
Kind: captions
Language: en

NOTE this is a comment
that spans --- two lines

STYLE
::cue { color: yellow }

REGION
id:fred width:40%

intro
00:01.000 --> 00:02.500 align:start position:10%
<v Roger>Hi</v> <c.yellow>there</c> &amp; more

00:00:03.000 --> 00:00:04.000
no identifier

2
01:00:00.000 --> 01:00:01.000 line:0
<00:00:00.500>karaoke <i>word</i>
"""


def test_vtt_skips_header_notes_styles_and_reads_cues() -> None:
    spans, problems = parse_vtt(VTT, "a.vtt")
    assert problems == []
    assert spans == [
        span(1.0, 2.5, "Hi there & more"),
        span(3.0, 4.0, "no identifier"),
        span(3600.0, 3601.0, "karaoke word"),
    ]


def test_vtt_bad_cue_reported_with_line_and_others_kept() -> None:
    text = "WEBVTT\n\n00:01.000 --> 00:00.500\nbackwards\n\n00:02.000 --> 00:03.000\nok\n"
    spans, problems = parse_vtt(text, "b.vtt")
    assert spans == [span(2.0, 3.0, "ok")]
    assert [str(p) for p in problems] == [
        "b.vtt:3: cue 1: end 00:00.500 is before start 00:01.000; skipped"
    ]


def test_vtt_without_header_gives_one_problem_and_no_spans() -> None:
    spans, problems = parse_vtt("00:01.000 --> 00:02.000\nhello\n", "h.vtt")
    assert spans == []
    assert len(problems) == 1
    assert problems[0].line == 1 and "WEBVTT" in problems[0].reason


def test_problem_str() -> None:
    assert str(Problem("f.srt", 7, "bad")) == "f.srt:7: bad"
    assert str(Problem("f.srt", None, "unreadable")) == "f.srt: unreadable"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_decode_bytes_honours_bom(encoding: str) -> None:
    data = "café ünïcode".encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    assert decode_bytes(data, "x.srt") == ("café ünïcode", [])


def test_decode_bytes_falls_back_to_cp1252_with_one_problem() -> None:
    data = "line one\ncafé “quoted” — dash\ncrème\n".encode("cp1252")
    text, problems = decode_bytes(data, "w.srt")
    assert text == "line one\ncafé “quoted” — dash\ncrème\n"
    assert problems == [Problem("w.srt", 2, "not UTF-8; read as cp1252")]


def test_decode_bytes_uses_latin1_when_cp1252_fails() -> None:
    data = b"caf\xe9 \x81\x8d"  # 0x81 and 0x8d are undefined in cp1252
    text, problems = decode_bytes(data, "l.srt")
    assert text == "café \x81\x8d"
    assert [p.reason for p in problems] == ["not UTF-8; read as latin-1"]


def test_decode_bytes_never_raises_on_broken_utf16() -> None:
    text, problems = decode_bytes(b"\xff\xfea\x00\x00\xd8", "u.srt")  # lone surrogate
    assert text.startswith("a")
    assert len(problems) == 1 and "utf-16-le" in problems[0].reason


def test_read_subtitle_file_dispatch_sorting_and_encodings(tmp_path: Path) -> None:
    srt = tmp_path / "a.SRT"
    text = "2\n00:00:05,000 --> 00:00:06,000\nlater\n\n1\n00:00:01,000 --> 00:00:02,000\ncafé\n"
    srt.write_bytes(text.encode("cp1252"))
    spans, problems = read_subtitle_file(srt)
    assert [s.text for s in spans] == ["café", "later"]
    assert [str(p) for p in problems] == [f"{srt}:7: not UTF-8; read as cp1252"]

    vtt = tmp_path / "b.vtt"
    vtt.write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nhé\n", encoding="utf-16")
    assert read_subtitle_file(vtt) == ([span(1.0, 2.0, "hé")], [])

    sniffed = tmp_path / "c.txt"
    sniffed.write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nvtt\n")
    assert read_subtitle_file(sniffed) == ([span(1.0, 2.0, "vtt")], [])
    plain = tmp_path / "d.sub"
    plain.write_text("00:00:01,000 --> 00:00:02,000\nsrt\n")
    assert read_subtitle_file(plain) == ([span(1.0, 2.0, "srt")], [])


def test_read_subtitle_file_unreadable(tmp_path: Path) -> None:
    spans, problems = read_subtitle_file(tmp_path / "missing.srt")
    assert spans == []
    assert len(problems) == 1
    assert problems[0].line is None and "No such file" in problems[0].reason
    spans, problems = read_subtitle_file(tmp_path)  # a folder
    assert spans == [] and len(problems) == 1 and "cannot read" in problems[0].reason


def test_sidecar_files(tmp_path: Path) -> None:
    names = [
        "talk.mp4",
        "talk.srt",
        "talk.en.srt",
        "talk.forced.VTT",
        "talk.en.forced.vtt",
        "talk2.srt",
        "talk.txt",
        "talk.en.txt",
        "other.srt",
        "Xtalk.srt",
        "talk.srt.bak",
    ]
    for name in names:
        (tmp_path / name).write_text("x")
    (tmp_path / "talk.de.srt").mkdir()  # a folder is not a subtitle file
    found = sidecar_files(tmp_path / "talk.mp4")
    assert [p.name for p in found] == sorted(
        ["talk.en.forced.vtt", "talk.en.srt", "talk.forced.VTT", "talk.srt"]
    )
    assert all(p.parent == tmp_path for p in found)
    assert sidecar_files(tmp_path / "nowhere" / "talk.mp4") == []


# ---------------------------------------------------------------------------- embedded streams

ASS_HEADER = (
    b"[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize\n"
    b"Style: Default,Arial,20\n\n[Events]\nFormat: Layer, Start, End, Style, Name, "
    b"MarginL, MarginR, MarginV, Effect, Text\n"
)


def make_mkv(path: Path, codec: str, cues: list[tuple[int, int, bytes]], seconds: int = 4) -> Path:
    """An MKV with a 160x120 H.264 stream and one subtitle stream of ``codec`` holding raw
    packets ``(start_ms, duration_ms, payload)`` (the stream time base is 1/1000 in MKV)."""
    with av.open(str(path), "w", format="matroska") as out:
        vs = out.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        vs.options = {"preset": "ultrafast"}
        ss: Any = out.add_stream(codec)
        # PyAV opens every stream's encoder before muxing; FFmpeg's text subtitle encoders
        # refuse to open without an ASS header.
        ss.codec_context.subtitle_header = ASS_HEADER
        image = np.zeros((120, 160, 3), np.uint8)
        for i in range(seconds * 10):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(vs.encode(frame))
        out.mux(vs.encode())
        for start_ms, duration_ms, payload in cues:
            packet = av.Packet(payload)
            packet.stream = ss
            packet.time_base = ss.time_base
            packet.pts = packet.dts = start_ms
            packet.duration = duration_ms
            out.mux(packet)
    return path


def test_embedded_subrip_stream(tmp_path: Path) -> None:
    video = make_mkv(
        tmp_path / "s.mkv",
        "subrip",
        [
            (500, 700, b"Hello <i>world</i>"),
            (1500, 1250, b"Second,\nline"),
            (2000, 300, b"<b></b>"),
        ],
    )
    spans, problems = embedded_subtitles(video)
    assert problems == []
    assert spans == [span(0.5, 1.2, "Hello world"), span(1.5, 2.75, "Second, line")]


def test_embedded_ass_stream_takes_text_after_eighth_comma(tmp_path: Path) -> None:
    video = make_mkv(
        tmp_path / "a.mkv",
        "ass",
        [(1000, 1000, b"0,0,Default,,0,0,0,,{\\an8}Top, with {\\i1}commas{\\i0}\\Nand break")],
    )
    spans, problems = embedded_subtitles(video)
    assert problems == []
    assert spans == [span(1.0, 2.0, "Top, with commas and break")]


def test_embedded_bitmap_stream_is_reported_not_read(tmp_path: Path) -> None:
    video = make_mkv(tmp_path / "b.mkv", "dvd_subtitle", [(100, 500, b"\x00\x10not a bitmap")])
    spans, problems = embedded_subtitles(video)
    assert spans == []
    assert len(problems) == 1
    assert "bitmap subtitles (dvd_subtitle) are not read" in problems[0].reason


def test_embedded_without_subtitles_and_bad_files(tmp_path: Path) -> None:
    plain = make_video(tmp_path / "plain.mp4", ["red"], 1.0, size=(160, 120))
    assert embedded_subtitles(plain) == ([], [])
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"this is not a video at all" * 10)
    spans, problems = embedded_subtitles(junk)
    assert spans == [] and len(problems) == 1 and problems[0].file == str(junk)
    spans, problems = embedded_subtitles(tmp_path / "missing.mkv")
    assert spans == [] and len(problems) == 1 and problems[0].line is None


def test_read_subtitles_merges_sorts_and_removes_duplicates(tmp_path: Path) -> None:
    video = make_mkv(tmp_path / "talk.mkv", "subrip", [(2000, 1000, b"embedded <i>cue</i>")])
    (tmp_path / "talk.en.srt").write_text(
        "1\n00:00:02,000 --> 00:00:03,000\nembedded cue\n\n"  # same as the stream: dropped
        "2\n00:00:00,500 --> 00:00:01,000\nfirst\n\n"
        "3\n00:00:04,000 --> 00:00:03,000\nreversed\n"
    )
    (tmp_path / "talk.vtt").write_text("WEBVTT\n\n00:02.000 --> 00:03.000\nother text\n")
    (tmp_path / "talk2.srt").write_text("1\n00:00:00,000 --> 00:00:09,000\nnot ours\n")
    spans, problems = read_subtitles(video)
    assert spans == [
        span(0.5, 1.0, "first"),
        span(2.0, 3.0, "embedded cue"),
        span(2.0, 3.0, "other text"),
    ]
    assert [(Path(p.file).name, p.line) for p in problems] == [("talk.en.srt", 10)]
