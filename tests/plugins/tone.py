"""Test plugin ``testtone``: a recogniser (``asr`` kind, id ``tone``) that 'hears' the word
"beep" wherever the audio is loud, at the times it is loud (10 ms steps): speech placement is
checkable without a model. Registered for one test at a time, never installed."""

from __future__ import annotations

from typing import Any

import numpy as np

from vagent.components import ASR, Utterance, Word
from vagent.hookspecs import hookimpl

STEP = 0.01  # seconds per loudness measure
LOUD = 0.05  # RMS above this is a beep


class ToneASR(ASR):
    id = "tone"
    semantic = False

    def transcribe(self, audio: np.ndarray, start: float = 0.0) -> list[Utterance]:
        n = int(STEP * self.sample_rate)
        steps = audio[: audio.size // n * n].reshape(-1, n)
        loud = np.sqrt((steps.astype(np.float64) ** 2).mean(axis=1)) > LOUD
        out: list[Utterance] = []
        i = 0
        while i < len(loud):
            if not loud[i]:
                i += 1
                continue
            j = i
            while j < len(loud) and loud[j]:
                j += 1
            a, b = start + i * STEP, start + j * STEP
            out.append(Utterance(a, b, "beep", (Word(a, b, " beep"),), 1.0, "en"))
            i = j
        return out


@hookimpl
def vagent_register_asr(register: Any) -> None:
    register("tone", lambda spec, **_: ToneASR(), description="test: 'beep' where it is loud")
