"""Hostile and unlucky input at index time: sidecar symlinks out of the video's folder, FIFOs,
file names that are not UTF-8, and subtitle files built to exhaust time and memory. Each gets
one line naming the file, the rest of the batch goes on, and the work stays bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.conftest import COLOUR, TINY_CLIP
from vagent import Library
from vagent.catalog import TextSpanRow
from vagent.components import DECODER
from vagent.synth import make_video
from vagent.text.limits import MAX_FILE_BYTES, PIECE_CHARS, cue_limit, limit_spans
from vagent.text.subtitles import parse_srt, parse_vtt, read_subtitles

SECRET = "the root password is hunter2"


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the body blocks, e.g. opening a FIFO."""

    def expire(_sig: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"still blocked after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def cue(i: int, start: float, end: float, text: str) -> str:
    def clock(t: float) -> str:
        ms = round(t * 1000)
        return (
            f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
        )

    return f"{i}\n{clock(start)} --> {clock(end)}\n{text}\n\n"


def stored_texts(lib: Library) -> list[str]:
    with lib.catalog.session() as s:
        return list(s.scalars(select(TextSpanRow.text).order_by(TextSpanRow.start)))


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    d = tmp_path / "clips"
    d.mkdir()
    return make_video(d / "clip.mp4", ["red", "blue"], 1.25, size=(160, 120))


# ------------------------------------------------------------------------------ sidecar links


@pytest.mark.usefixtures("colour_plugin")
@pytest.mark.usefixtures("warnings_shown")  # in-process stderr, as the CLI prints it
def test_sidecar_linking_outside_the_folder_is_not_read(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "private"
    elsewhere.mkdir()
    (elsewhere / "notes.srt").write_text(cue(1, 1, 2, SECRET) + "root:x:0:0:root:/root\n")
    (clip.parent / "clip.srt").symlink_to(elsewhere / "notes.srt")
    (clip.parent / "real.srt").write_text(cue(1, 1, 2, "the treasure is in the garden"))
    (clip.parent / "clip.en.srt").symlink_to("real.srt")  # inside the folder: read
    lib = Library.open("lib")
    report = lib.index([str(clip)], encoder=COLOUR, text="subtitles", progress=False)
    assert report.indexed == [str(clip)]
    err = capsys.readouterr().err
    assert f"{clip.parent / 'clip.srt'}: links to {elsewhere / 'notes.srt'}, outside" in err
    assert "hunter2" not in err and "root:x" not in err
    assert stored_texts(lib) == ["the treasure is in the garden"]
    assert not lib.search("hunter2", k=5, mode="text")


# ------------------------------------------------------------------------ FIFOs and devices


@pytest.mark.usefixtures("colour_plugin")
@pytest.mark.usefixtures("warnings_shown")  # in-process stderr, as the CLI prints it
def test_fifo_paths_and_sidecars_are_refused_not_waited_on(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe = tmp_path / "pipe.mp4"
    os.mkfifo(pipe)
    os.mkfifo(clip.parent / "inside.mkv")  # found by walking the folder
    os.mkfifo(clip.parent / "clip.srt")  # a sidecar
    lib = Library.open("lib")
    with deadline(60):
        report = lib.index(
            [str(pipe), str(clip.parent), "/dev/zero"],
            encoder=COLOUR,
            text="subtitles",
            progress=False,
        )
    assert report.indexed == [str(clip)]
    failed = dict(report.failed)
    assert failed[str(pipe)].startswith("not a regular file: a FIFO (named pipe);")
    assert failed[str(clip.parent / "inside.mkv")].startswith("not a regular file: a FIFO")
    assert failed["/dev/zero"].startswith("not a regular file: a character device;")
    err = capsys.readouterr().err
    assert f"warning: {clip.parent / 'clip.srt'}: not a regular file; not read" in err
    assert len([ln for ln in err.splitlines() if ln.startswith("error:")]) == 3


def test_a_fifo_swapped_in_after_discovery_is_refused_when_opened(tmp_path: Path) -> None:
    from vagent.errors import BadVideo
    from vagent.ingest.discover import content_hash

    os.mkfifo(tmp_path / "late.mp4")
    with deadline(20), pytest.raises(BadVideo, match="not a regular file"):
        content_hash(str(tmp_path / "late.mp4"))


def test_decoder_and_embedded_subtitles_never_open_a_fifo(tmp_path: Path) -> None:
    from vagent import plugins
    from vagent.errors import BadVideo
    from vagent.text.subtitles import embedded_subtitles

    fifo = tmp_path / "pipe.mkv"
    os.mkfifo(fifo)
    decoder = plugins.registry().create(DECODER, "pyav")
    with deadline(20):
        with pytest.raises(BadVideo, match="not a regular file"):
            decoder.probe(str(fifo))
        assert embedded_subtitles(fifo) == ([], [])


# ------------------------------------------------------------------------- non-UTF-8 names


@pytest.mark.usefixtures("colour_plugin")
@pytest.mark.usefixtures("warnings_shown")  # in-process stderr, as the CLI prints it
def test_non_utf8_name_is_refused_by_name_and_the_rest_indexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "enc"
    d.mkdir()
    make_video(d / "a.mp4", ["red"], 1.0)
    make_video(d / "c.mp4", ["blue"], 1.0)
    bad = Path(os.fsdecode(str(d).encode() + b"/caf\xe9.mp4"))
    bad.write_bytes((d / "a.mp4").read_bytes())
    # a sidecar whose own name is not UTF-8 is read (its name is only printed, escaped)
    Path(os.fsdecode(str(d).encode() + b"/c.caf\xe9.srt")).write_text(cue(1, 0, 1, "blue sky"))
    lib = Library.open("lib")
    report = lib.index([str(d)], encoder=COLOUR, text="subtitles", progress=False)
    assert sorted(Path(p).name for p in report.indexed) == ["a.mp4", "c.mp4"]
    shown = f"{d}/caf\\xe9.mp4"
    assert [p for p, _ in report.failed] == [shown]
    assert "not valid UTF-8" in report.failed[0][1]
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: {shown}: {report.failed[0][1]}"]
    assert stored_texts(lib) == ["blue sky"]
    again = lib.index([str(bad), str(d / "a.mp4")], progress=False)  # named explicitly too
    assert [p for p, _ in again.failed] == [shown] and again.skipped == [str(d / "a.mp4")]


@pytest.mark.slow
def test_cli_fifo_and_non_utf8_name_one_line_each(clip: Path, tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.mp4"
    os.mkfifo(pipe)
    bad = os.fsdecode(str(tmp_path).encode() + b"/\xff\xfe.mp4")
    Path(bad).write_bytes(clip.read_bytes())
    env = {**os.environ, "VAGENT_HOME": str(tmp_path / "home")}
    args = [str(pipe), bad, str(clip), "--library", "h", "--encoder", TINY_CLIP, "--text", "none"]
    proc = subprocess.run(
        [sys.executable, "-m", "vagent", "index", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 2, proc.stderr
    assert f"{pipe}: not a regular file" in errors[0]
    assert f"{tmp_path}/\\xff\\xfe.mp4: file name is not valid UTF-8" in errors[1]
    assert "indexed 1," in proc.stdout and "failed 2" in proc.stdout


# ------------------------------------------------------------------ bounded subtitle work


@pytest.mark.slow
@pytest.mark.usefixtures("colour_plugin")
@pytest.mark.usefixtures("warnings_shown")  # in-process stderr, as the CLI prints it
def test_hostile_subtitles_are_bounded_and_said(
    clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 2.5-s clip with a 20 MiB single-line cue, 300 cues, and one at 99,999,999 hours."""
    huge = b"1\n00:00:00,500 --> 00:00:01,500\n" + b"word " * (4 * 2**20) + b"\n"
    (clip.parent / "clip.srt").write_bytes(huge)
    many = "".join(cue(i, i / 200, 2.4, f"line {i}") for i in range(300))
    far = "1\n99999999:00:00,000 --> 99999999:00:01,000\nfar in the future\n\n"
    (clip.parent / "clip.en.srt").write_text(many + far)
    lib = Library.open("lib")
    report = lib.index([str(clip)], encoder=COLOUR, text="subtitles", progress=True)
    assert report.indexed == [str(clip)]
    err = capsys.readouterr().err
    src = clip.parent / "clip.srt"
    assert f"{src}: {len(huge):,} bytes; read the first {MAX_FILE_BYTES:,} only" in err
    assert f"{src}: cue 1: longer than 4,000 characters; the rest cut off" in err
    assert f"{clip}: 1 subtitle cue(s) start after the video's end" in err
    assert f"{clip}: 1 cue(s) longer than 500 characters split into spans" in err
    assert "text clip.mp4" in err  # the text-embedding progress bar
    duration = lib.info()["videos"][0]["duration"]
    with lib.catalog.session() as s:
        rows = list(s.execute(select(TextSpanRow.start, TextSpanRow.end, TextSpanRow.text)))
    assert len(rows) == 300 + 8  # 300 cues, and the giant one as 8 spans of <= 500 characters
    assert all(0 <= a < b <= duration and 0 < len(t) <= PIECE_CHARS for a, b, t in rows)
    assert "far in the future" not in {t for _, _, t in rows}
    hits = lib.search("word", k=10, mode="text")
    assert hits and all(sum(len(t["text"]) for t in h.texts) < 64_000 for h in hits)


def test_cues_per_video_are_capped_and_said(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not a video: embedded subtitles fail, sidecars are still read")
    (tmp_path / "v.srt").write_text("".join(cue(i, i / 1000, 5.0, f"cue {i}") for i in range(5000)))
    spans, problems = read_subtitles(video, 5.0)
    assert len(spans) == cue_limit(5.0) == 1020
    assert [s.text for s in spans[:2]] == ["cue 0", "cue 1"]  # the first ones, by start
    said = [str(p) for p in problems if "kept the first" in p.reason]
    assert said == [
        f"{video}: 5,000 subtitle spans; kept the first 1,020 (at most 1,000 + 4 per second "
        "of video, 100,000 in all)"
    ]


def test_problems_per_file_are_capped(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    (tmp_path / "v.srt").write_text("".join(f"{i}\nnot a timing\ntext\n\n" for i in range(500)))
    _, problems = read_subtitles(video, 5.0)
    mine = [p for p in problems if p.file.endswith("v.srt")]
    assert (
        len(mine) == 20 and mine[-1].reason == "... and 481 more problems in this file (not shown)"
    )


# ----------------------------------------------------------------------------------- fuzz

TIMINGS = st.sampled_from(
    [
        "00:00:01,000 --> 00:00:02,500",
        "00:00:03.000 --> 00:00:01.000",
        "0:00:04,5 --> 0:00:09,0 align:start",
        "99999999:00:00,000 --> 99999999:00:01,000",
        "1234567890123:00:00,000 --> 1234567890124:00:00,000",
        "9" * 5000 + ":00:00,000 --> 00:00:01,000",  # int() of >4,300 digits raises
        "-00:00:01,000 --> 00:00:02,000",
        "00:61:00,000 --> 00:62:00,000",
        "-->",
        "00:00:05,000 -->",
    ]
)
PIECES = st.one_of(
    TIMINGS,
    st.sampled_from(["", "1", "42", "WEBVTT", "NOTE x", "<i>", "</b>", "{\\an8}", "&amp;", "\r"]),
    st.text(max_size=40),
    st.builds(lambda n, ch: ch * n, st.integers(0, 9000), st.sampled_from(["a", "ab ", " ", "é"])),
)
SUBTITLE_TEXT = st.lists(PIECES, max_size=40).map("\n".join)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=SUBTITLE_TEXT, duration=st.floats(0.2, 7200.0))
def test_fuzz_parsing_never_raises_and_stays_in_bounds(text: str, duration: float) -> None:
    for parse in (parse_srt, parse_vtt):
        spans, _ = parse(text, "fuzz.srt")
        kept, _ = limit_spans(sorted(spans, key=lambda s: s.start), duration, "v.mp4")
        assert len(kept) <= cue_limit(duration)
        for s in kept:
            assert 0 <= s.start < s.end <= duration
            assert 0 < len(s.text) <= PIECE_CHARS


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(SUBTITLE_TEXT.map(str.encode), st.binary(max_size=3000)))
def test_fuzz_sidecar_bytes_never_raise(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        video = Path(d) / "v.mp4"
        video.write_bytes(b"not a video")
        (Path(d) / "v.srt").write_bytes(data)
        (Path(d) / "v.x.vtt").write_bytes(b"WEBVTT\n\n" + data)
        kept, problems = read_subtitles(video, 30.0)
        assert all(0 <= s.start < s.end <= 30.0 and len(s.text) <= PIECE_CHARS for s in kept)
        assert all(str(p) for p in problems)


@pytest.mark.usefixtures("colour_plugin")
def test_search_json_quotes_a_bounded_part_of_a_giant_legacy_span(clip: Path) -> None:
    """A library indexed before cue bounds may hold megabytes in one span: hits quote 2,000
    characters of it, not all of it."""
    (clip.parent / "clip.srt").write_text(cue(1, 0.5, 1.5, "a short line about the weather"))
    lib = Library.open("lib")
    lib.index([str(clip)], encoder=COLOUR, text="subtitles", progress=False)
    with lib.catalog.session() as s:
        s.execute(update(TextSpanRow).values(text="weather " * 250_000))  # 2 MB, as old ones were
    hits = Library.open("lib").search("weather", k=5, mode="text")
    assert hits and all(len(t["text"]) <= 2004 for h in hits for t in h.texts)
    assert len(json.dumps([h.to_dict() for h in hits])) < 10_000
