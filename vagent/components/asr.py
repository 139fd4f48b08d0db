"""The ``asr`` kind: speech recognition (the text track's ``speech`` source)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Word:
    """One recognised word: ``start``/``end`` in seconds of the file, its ``text`` (with its
    leading space or punctuation as the model wrote it) and the model's ``probability``."""

    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class Utterance:
    """What a recogniser heard in one stretch of speech: times in seconds of the file, the
    text, its words with their own times, the model's ``confidence`` (0..1) and the
    ``language`` (None where the model does not say)."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    confidence: float = 1.0
    language: str | None = None


class ASR(ABC):
    """Speech recognition (the text track's ``speech`` source).

    ``sample_rate``: the audio it takes (16 kHz mono float32 in [-1, 1]). ``semantic``: False
    for models whose transcripts carry no meaning (test fakes).
    """

    id: str
    sample_rate: int = 16000
    semantic: bool = True

    @abstractmethod
    def transcribe(self, audio: np.ndarray, start: float = 0.0) -> list[Utterance]:
        """(n,) float32 mono samples at ``sample_rate`` beginning at ``start`` seconds of the
        file -> the utterances heard, in time order, with times in seconds of the file."""

    def load(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Load weights now (they otherwise load on first transcribe). Raises ModelUnavailable."""
