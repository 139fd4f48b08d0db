"""The speech track: a file's audio through an ``ASR`` plugin into text spans (source
``speech``) that keep their words and the words' times.

Audio is decoded in pieces (``vagent.audio``) and handed to the recogniser in windows of about
``WINDOW_SECONDS``, each cut at the quietest moment near its end so no word is cut in two; memory
stays flat. Each utterance becomes one span, split at every pause of ``PAUSE_SECONDS`` or more,
then at its longest pause while it is longer than ``MAX_SPAN_SECONDS`` or ``PIECE_CHARS``.
A hit on a speech span points at the words that matched (``word_time``), not at the start of
the utterance.

A recogniser's output is bounded like subtitles (``vagent.text.limits``): times that are not
finite are dropped, words cut at ``MAX_WORD_CHARS``, spans past the audio's end dropped (ends
clipped), long wordless spans split, and at most ``cue_limit(seconds)`` spans kept per file
(a hallucinating or hostile recogniser costs bounded memory and catalog rows); each bound
that bites is one line.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from vagent.audio import RATE, AudioBroken, chunks
from vagent.components import ASR, Utterance
from vagent.ingest.discover import printable
from vagent.text.limits import MAX_CUES, PIECE_CHARS, Problem, cap_problems, limit_spans
from vagent.types import TextSpan
from vagent.words import tokens

SOURCE = "speech"
WINDOW_SECONDS = 600.0  # audio per recogniser call (~38 MB of samples)
CUT_SEARCH_SECONDS = 8.0  # the cut is the quietest moment in this much before a window's end
CUT_STEP = 0.1  # seconds per loudness measure when looking for the cut
MAX_SPAN_SECONDS = 20.0
PAUSE_SECONDS = 1.5  # a silence this long between words always ends a span
# the recogniser's silence-free audio is not speech (its own VAD says so): below this loudness
SILENT_RMS = 1e-4
MAX_WORD_CHARS = 100  # a "word" longer than this is cut (no language has one)

TimedWord = tuple[float, float, str]


@dataclass(frozen=True)
class SpeechSpan(TextSpan):
    """A span of speech: its ``words`` as (start, end, text), the ``language`` heard, and the
    recogniser's ``confidence``."""

    words: tuple[TimedWord, ...] = ()
    language: str | None = None
    confidence: float = 1.0


def _finite(*xs: float) -> bool:
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


def _split(u: Utterance) -> list[SpeechSpan]:
    if not _finite(u.start, u.end):
        return []
    language = u.language[:16] if isinstance(u.language, str) else None
    confidence = min(1.0, max(0.0, u.confidence)) if _finite(u.confidence) else 0.0
    u = replace(u, start=max(0.0, u.start), language=language, confidence=confidence)
    u = replace(u, end=max(u.start, u.end))
    words: list[TimedWord] = sorted(
        (max(0.0, w.start), max(w.start, w.end, 0.0), w.text[:MAX_WORD_CHARS])
        for w in u.words
        if _finite(w.start, w.end) and w.text.strip()
    )
    text = u.text.strip()
    if not words:
        return [SpeechSpan(u.start, u.end, SOURCE, text, (), u.language, u.confidence)]
    out: list[SpeechSpan] = []
    todo = [words]
    while todo:
        part = todo.pop(0)
        said = "".join(w[2] for w in part).strip()
        long = part[-1][1] - part[0][0] > MAX_SPAN_SECONDS or len(said) > PIECE_CHARS
        gaps = [part[i + 1][0] - part[i][1] for i in range(len(part) - 1)]
        if gaps and (long or max(gaps) >= PAUSE_SECONDS):
            at = int(np.argmax(gaps)) + 1
            todo[:0] = [part[:at], part[at:]]
            continue
        span = SpeechSpan(part[0][0], part[-1][1], SOURCE, said[:PIECE_CHARS], tuple(part))
        out.append(replace(span, language=u.language, confidence=u.confidence))
    return out


def spans_of(utterances: Sequence[Utterance]) -> list[SpeechSpan]:
    """Utterances as speech spans, sentence-sized (long ones split at their longest pauses)."""
    return [s for u in utterances if u.text.strip() for s in _split(u)]


def _own_words(span: TextSpan) -> TextSpan:
    """``span`` with only the words inside its (possibly clipped) time range."""
    if not isinstance(span, SpeechSpan) or not span.words:
        return span
    inside = tuple(w for w in span.words if w[0] < span.end + 1e-6 and w[1] > span.start - 1e-6)
    return span if len(inside) == len(span.words) else replace(span, words=inside)


def limit_speech(
    spans: Sequence[SpeechSpan], seconds: float | None, name: str
) -> tuple[list[SpeechSpan], list[Problem]]:
    """Bound one file's speech spans as subtitles are (``limit_spans``), ``seconds`` being the
    audio's end: past-the-end spans dropped and ends clipped (with their words), long spans
    split, at most ``cue_limit(seconds)`` kept. Returns the spans (in time order) and the lines
    to say."""
    ordered = sorted(spans, key=lambda s: (s.start, s.text))
    kept, problems = limit_spans(ordered, seconds, name, kind="speech", unit="span")
    return [s for s in map(_own_words, kept) if isinstance(s, SpeechSpan)], problems


def cut_point(samples: np.ndarray, rate: int = RATE) -> int:
    """Where to cut ``samples``: the start of the quietest ``CUT_STEP`` in the last
    ``CUT_SEARCH_SECONDS`` (the whole when it is shorter)."""
    step = max(1, int(CUT_STEP * rate))
    lo = max(0, samples.size - int(CUT_SEARCH_SECONDS * rate))
    n = (samples.size - lo) // step
    if n < 2:
        return samples.size
    tail = samples[lo : lo + n * step].reshape(n, step)
    quiet = int(np.argmin((tail.astype(np.float32) ** 2).mean(axis=1)))
    return lo + quiet * step + step // 2


@dataclass
class SpeechTrack:
    """Transcribes one file's audio, in a thread of its own when ``start``-ed (it runs beside
    the frame pipeline); ``finish`` joins it and returns the spans. ``warn`` gets one line per
    problem (a broken stream: the readable part is kept)."""

    asr: ASR
    warn: Callable[[str], None]
    window: float = WINDOW_SECONDS
    stream: int | None = None  # which audio stream (None: the default one)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    spans: list[SpeechSpan] = field(default_factory=list)
    heard_sound: bool = False
    unreadable: str | None = None  # why no audio at all could be decoded (said by the caller)
    broken: bool = False  # decoding stopped part-way (said in one line)
    audio_end: float = 0.0  # where the audio read ends, in seconds of the file
    overflow: int = 0  # spans heard past MAX_CUES, not kept
    path: str = ""
    _thread: threading.Thread | None = None
    _error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self, path: str) -> list[SpeechSpan]:
        t0 = time.perf_counter()
        self.path = path
        rate = self.asr.sample_rate
        held: list[np.ndarray] = []
        held_n = 0
        origin: float | None = None
        try:
            pieces = chunks(path, min(10.0, self.window), rate, self.stream)
            for start, piece in pieces:
                if self._stop.is_set():
                    return self.spans
                if origin is None:
                    origin = start
                held.append(piece)
                held_n += piece.size
                self.audio_seconds += piece.size / rate
                self.audio_end = max(self.audio_end, start + piece.size / rate)
                if held_n >= self.window * rate:
                    data = np.concatenate(held)
                    cut = cut_point(data, rate)
                    self._hear(data[:cut], origin)
                    origin += cut / rate
                    rest = data[cut:]
                    held, held_n = ([rest] if rest.size else []), int(rest.size)
        except AudioBroken as exc:
            if self.audio_seconds > 0:
                self.broken = True
                self.warn(f"{path}: {exc}; speech indexed up to there")
            else:
                self.unreadable = exc.reason
        if held_n:
            self._hear(np.concatenate(held), origin or 0.0)
        self.wall_seconds += time.perf_counter() - t0
        return self.spans

    def _hear(self, audio: np.ndarray, start: float) -> None:
        if audio.size and float(np.sqrt((audio.astype(np.float32) ** 2).mean())) > SILENT_RMS:
            self.heard_sound = True
        heard = spans_of(self.asr.transcribe(audio, start))
        room = max(0, MAX_CUES + 1 - len(self.spans))  # one past the cap: the count bites
        self.spans.extend(heard[:room])
        self.overflow += len(heard) - len(heard[:room])

    def start(self, path: str) -> None:
        def work() -> None:
            try:
                self.run(path)
            except BaseException as exc:
                self._error = exc

        self._thread = threading.Thread(target=work, name="vagent-speech", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop a started transcription (at its next piece of audio) and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def finish(self) -> list[SpeechSpan]:
        """The spans heard, in time order, bounded (``limit_speech``; each bound that bit is
        one line through ``warn``)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        name = printable(self.path)
        kept, problems = limit_speech(self.spans, self.audio_end or None, name)
        if self.overflow:
            more = f"{self.overflow:,} more speech spans heard past {MAX_CUES:,}; not kept"
            problems.append(Problem(name, None, more))
        for problem in cap_problems(problems, name):
            self.warn(str(problem))
        return kept


def dump_words(words: Sequence[TimedWord]) -> str:
    """Words as compact JSON for the catalog: [[start, end, text], ...], times in ms precision."""
    return json.dumps([[round(a, 3), round(b, 3), w] for a, b, w in words], ensure_ascii=False)


def load_words(text: str | None) -> list[TimedWord]:
    """The words a catalog row holds (none for other sources, or unreadable JSON)."""
    if not text:
        return []
    try:
        return [(float(a), float(b), str(w)) for a, b, w in json.loads(text)]
    except (ValueError, TypeError):
        return []


def word_time(words: Sequence[TimedWord], query: str) -> float | None:
    """The start of the first word that is a term of ``query`` (the first of the longest run of
    such words), or None when none matches."""
    terms = set(tokens(query))
    if not terms or not words:
        return None
    hit = [bool(set(tokens(w)) & terms) for _, _, w in words]
    best, best_len, i = None, 0, 0
    while i < len(hit):
        if hit[i]:
            j = i
            while j < len(hit) and hit[j]:
                j += 1
            if j - i > best_len:
                best, best_len = i, j - i
            i = j
        else:
            i += 1
    return None if best is None else words[best][0]
