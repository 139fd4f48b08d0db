"""``vagent bench speech``: speech-track speed in audio-seconds per wall-second, against its
bound, the same recogniser transcribing the same audio already decoded in memory (what the
track costs beyond the model: decoding, resampling, windows). Also without VAD where the
recogniser has a ``vad`` switch, and how close word times land to where sentences were placed.

A recogniser that transcribes in parallel itself (``workers`` > 1, as faster-whisper does on a
CPU) is its own bound: the same parallel recogniser on the decoded audio. Its single-worker
self (another instance with ``workers = 1``: one transcription at a time, all threads on it) is
measured too, on the same audio, so the gain is visible, with its sentence starts and how many
of its words the parallel one heard the same (text and start within ``SAME_WORD_SECONDS``).

The talk is made with espeak-ng (sentences placed at known times, ~60% speech) unless ``audio``
names a file.
"""

from __future__ import annotations

import bisect
import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np

from vagent import plugins
from vagent.audio import RATE, chunks
from vagent.components import ASR_KIND, Utterance
from vagent.errors import VagentError
from vagent.library.spec import DEFAULT_ASR
from vagent.synth import write_pcm
from vagent.text.speech import SpeechSpan, SpeechTrack, spans_of

ROUNDS = 2  # each measure taken this many times, the best kept (the machine's load varies)
SAME_WORD_SECONDS = 0.1  # a word heard by both recognisers "the same" starts this close
SENTENCES = [
    "The quarterly budget review moves to Thursday afternoon.",
    "Maria will open the new office in Berlin next spring.",
    "Please send the slides to the whole team before noon.",
    "Our sales grew by twelve percent in the last quarter.",
    "The train to Munich leaves from platform seven.",
    "We agreed to hire two more engineers this year.",
]


def _say(text: str, path: Path) -> np.ndarray:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise VagentError(
            "bench speech makes its talk with espeak-ng, which is not installed "
            "(apt-get install espeak-ng), or pass --audio FILE"
        )
    subprocess.run([espeak, "-w", str(path), text], check=True, capture_output=True)
    return np.concatenate([a for _, a in chunks(str(path))])


def talk_audio(
    seconds: float, stem: Path, speech_share: float = 0.6
) -> tuple[np.ndarray, list[float]]:
    """``seconds`` of 16 kHz mono audio where sentences said by espeak-ng (written to
    ``stem.N.wav``) fill about ``speech_share`` of the time, and the times the sentences start."""
    said = [_say(s, stem.with_suffix(f".{i}.wav")) for i, s in enumerate(SENTENCES)]
    audio = np.zeros(int(seconds * RATE), np.float32)
    placed: list[float] = []
    t, i = 1.0, 0
    while True:
        clip = said[i % len(said)]
        n = clip.size / RATE
        if t + n >= seconds:
            break
        a = int(t * RATE)
        audio[a : a + clip.size] = clip
        placed.append(t)
        t += n + n * (1 - speech_share) / speech_share
        i += 1
    return audio, placed


def make_talk(path: Path, seconds: float, speech_share: float = 0.6) -> list[float]:
    """Write a WAV of ``seconds`` where sentences fill about ``speech_share`` of the time;
    returns the times the sentences start."""
    audio, placed = talk_audio(seconds, path, speech_share)
    with av.open(str(path), "w") as out:
        stream: Any = out.add_stream("pcm_s16le", rate=RATE)
        stream.layout = "mono"
        write_pcm(out, stream, audio, RATE)
    return placed


def _starts(spans: list[SpeechSpan], placed: list[float]) -> list[float]:
    """How far from each placed sentence start the nearest span's first word starts."""
    starts = [s.words[0][0] if s.words else s.start for s in spans]
    return [min(abs(p - s) for s in starts) for p in placed] if starts else []


def same_words(a: list[Utterance], b: list[Utterance]) -> tuple[int, int]:
    """(words of ``a`` that ``b`` heard too: the same text starting within
    ``SAME_WORD_SECONDS``; words ``a`` heard)."""
    wa = [(w.start, w.text.strip().lower()) for u in a for w in u.words]
    wb = sorted((w.start, w.text.strip().lower()) for u in b for w in u.words)
    at = [t for t, _ in wb]
    same = 0
    for t, text in wa:
        lo = bisect.bisect_left(at, t - SAME_WORD_SECONDS)
        hi = bisect.bisect_right(at, t + SAME_WORD_SECONDS)
        same += any(wb[i][1] == text for i in range(lo, hi))
    return same, len(wa)


def run(
    audio: str | None, seconds: float, asr_id: str | None, rounds: int = ROUNDS
) -> dict[str, Any]:
    asr = plugins.registry().create(ASR_KIND, asr_id or DEFAULT_ASR)
    asr.load()
    workers = int(getattr(asr, "workers", 1))
    single: Any = None
    if workers > 1:  # the same recogniser one transcription at a time: the gain's baseline
        single = plugins.registry().create(ASR_KIND, asr_id or DEFAULT_ASR)
        setattr(single, "workers", 1)  # noqa: B010 (a switch only some recognisers have)
        single.load()
    with tempfile.TemporaryDirectory() as tmp:
        placed: list[float] = []
        path = audio
        if path is None:
            path = str(Path(tmp) / "talk.wav")
            placed = make_talk(Path(path), seconds)
        samples = np.concatenate([a for _, a in chunks(path)])
        length = samples.size / RATE
        asr.transcribe(samples[: 5 * RATE])  # warm up
        if single is not None:
            single.transcribe(samples[: 5 * RATE])
        wall: dict[str, float] = {}
        cpu: dict[str, float] = {}

        def measure(name: str, fn: Callable[[], Any]) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn()
            wall[name] = min(wall.get(name, math.inf), time.perf_counter() - t0)
            cpu[name] = min(cpu.get(name, math.inf), time.process_time() - c0)
            return out

        vad = hasattr(asr, "vad")
        spans: list[SpeechSpan] = []
        alone: list[Utterance] = []
        one: list[Utterance] = []
        for _ in range(rounds):  # the model alone and the track in turn; the best of each
            alone = measure("bound", lambda: asr.transcribe(samples))
            if single is not None:
                one = measure("single", lambda: single.transcribe(samples))
            spans = measure("track", lambda: SpeechTrack(asr, lambda line: None).run(path))
            if vad:
                setattr(asr, "vad", False)  # noqa: B010 (a switch only some recognisers have)
                measure("no_vad", lambda: asr.transcribe(samples))
                setattr(asr, "vad", True)  # noqa: B010
    speed, bound = length / wall["track"], length / wall["bound"]
    no_vad = length / wall["no_vad"] if vad else None
    errors = _starts(spans, placed)
    versus: dict[str, Any] = {}
    if single is not None:
        one_errors = _starts(spans_of(one), placed)
        same, heard = same_words(one, alone)
        versus = {
            "single_worker_x_realtime": round(length / wall["single"], 1),
            "single_worker_cpu_s_per_audio_s": round(cpu["single"] / length, 4),
            "single_start_error_median_s": (
                round(float(np.median(one_errors)), 3) if one_errors else None
            ),
            "single_start_error_max_s": round(float(np.max(one_errors)), 3) if one_errors else None,
            "words_single": heard,
            "words_same_as_single": same,
        }
    return {
        "asr": asr.id,
        "audio_seconds": round(length, 2),
        "sentences_placed": len(placed),
        "spans": len(spans),
        "utterances_alone": len(alone),
        "track_x_realtime": round(speed, 1),
        "bound_x_realtime": round(bound, 1),
        "ratio": round(speed / bound, 3),
        "workers": workers,
        "no_vad_x_realtime": None if no_vad is None else round(no_vad, 1),
        # CPU-seconds (all threads) per audio-second: what the track costs a shared machine,
        # steadier than wall time when others load it
        "track_cpu_s_per_audio_s": round(cpu["track"] / length, 4),
        "bound_cpu_s_per_audio_s": round(cpu["bound"] / length, 4),
        "rounds": rounds,
        "start_error_median_s": round(float(np.median(errors)), 3) if errors else None,
        "start_error_max_s": round(float(np.max(errors)), 3) if errors else None,
        **versus,
    }
