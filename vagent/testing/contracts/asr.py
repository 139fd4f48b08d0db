"""The ASR contract (``vagent.components.ASR``): ``transcribe(audio, start)`` returns
``Utterance`` records in time order with times in seconds of the file (``start`` added), words
inside their utterance and in order, confidences in [0, 1]; silence, a blip shorter than a tenth
of a second and no samples at all return a list (nothing heard). The speech checks use
espeak-ng (skipped, saying so, where it is not installed); semantic recognisers must hear the
words spoken.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import ClassVar

import numpy as np

from vagent.components import ASR, Utterance
from vagent.testing.contracts.base import Contract

SAID = "the quick brown fox jumps over the lazy dog"
_spoken: dict[int, np.ndarray] = {}


class ASRContract(Contract[ASR]):
    """Subclass and define ``make(self) -> ASR``."""

    kind: ClassVar[str] = "asr"
    base: ClassVar[type] = ASR
    reuse: ClassVar[bool] = True

    def speech(self, rate: int) -> np.ndarray:
        """``SAID`` spoken by espeak-ng, 16-bit mono resampled to ``rate`` as float32, with
        half a second of silence before it."""
        if rate not in _spoken:
            espeak = shutil.which("espeak-ng")
            if espeak is None:
                self.skip("espeak-ng is not installed (apt-get install espeak-ng)")
            import av

            wav = self.tmp_path / "said.wav"
            subprocess.run([str(espeak), "-w", str(wav), SAID], check=True, capture_output=True)
            with av.open(str(wav)) as c:
                res = av.AudioResampler(format="flt", layout="mono", rate=rate)
                parts = [
                    f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in res.resample(fr)
                ]
            _spoken[rate] = np.concatenate([np.zeros(rate // 2), *parts]).astype(np.float32)
        return _spoken[rate]

    def asr(self) -> ASR:
        asr = self.component()
        asr.load()
        return asr

    def _valid(self, got: object, start: float, end: float, what: str) -> list[Utterance]:
        self.expect(isinstance(got, list), f"{what}: {type(got).__name__}, not a list")
        assert isinstance(got, list)
        last = start - 1e-6
        for u in got:
            self.expect(isinstance(u, Utterance), f"{what}: {u!r} is not an Utterance")
            self.expect(start - 0.05 <= u.start <= u.end <= end + 0.5, f"{what}: times of {u}")
            self.expect(u.start >= last - 1e-6, f"{what}: utterances out of time order")
            last = u.start
            self.expect(0.0 <= u.confidence <= 1.0, f"{what}: confidence {u.confidence}")
            self.expect(isinstance(u.text, str), f"{what}: text {u.text!r}")
            prev = u.start - 0.05
            for w in u.words:
                self.expect(w.start <= w.end, f"{what}: word {w}")
                self.expect(w.start >= prev - 1e-6, f"{what}: words out of order in {u.text!r}")
                self.expect(
                    u.start - 0.5 <= w.start and w.end <= u.end + 0.5,
                    f"{what}: word {w.text!r} {w.start}-{w.end} outside {u.start}-{u.end}",
                )
                self.expect(0.0 <= w.probability <= 1.0, f"{what}: probability {w.probability}")
                prev = w.start
        return got

    def test_describes_itself(self) -> None:
        asr = self.asr()
        self.expect(isinstance(asr.id, str) and asr.id, f"id {asr.id!r}")
        self.expect(isinstance(asr.sample_rate, int) and asr.sample_rate > 0, "sample_rate")
        self.expect(isinstance(asr.semantic, bool), f"semantic {asr.semantic!r}")

    def test_silence_and_scraps(self) -> None:
        asr = self.asr()
        sr = asr.sample_rate
        for what, audio in (
            ("two seconds of silence", np.zeros(2 * sr, np.float32)),
            ("a 50 ms blip", np.full(sr // 20, 0.1, np.float32)),
            ("no samples", np.zeros(0, np.float32)),
        ):
            self._valid(asr.transcribe(audio, 3.0), 3.0, 3.0 + len(audio) / sr, what)

    def test_speech_in_order_with_file_times(self) -> None:
        asr = self.asr()
        audio = self.speech(asr.sample_rate)
        seconds = len(audio) / asr.sample_rate
        at0 = self._valid(asr.transcribe(audio, 0.0), 0.0, seconds, "speech from 0 s")
        later = self._valid(asr.transcribe(audio, 100.0), 100.0, 100.0 + seconds, "from 100 s")
        self.expect(len(at0) == len(later), "another number of utterances at another start")
        for a, b in zip(at0, later):
            self.expect(
                abs(b.start - a.start - 100.0) < 0.05, f"start 100 s moved {a.start} to {b.start}"
            )
        if asr.semantic:
            heard = " ".join(u.text for u in at0).lower()
            self.expect(
                sum(w in heard for w in ("quick", "brown", "fox", "lazy", "dog")) >= 3,
                f"heard {heard!r} for {SAID!r}",
            )
