"""Captions as text spans: a captioner plugin describes each window of a video in words.

Frames arrive in batches as the decoder samples them. Each window of ``seconds`` (the library's
segment length, so with fixed segments a caption covers exactly one segment) keeps at most
``per_window`` frames, spread over it; a finished window waits in a queue and windows are
captioned ``batch`` at a time, so memory holds a few windows of frames however long the video.
A captioner that fails on a batch is retried window by window; a window that still fails is
reported (its time range and the reason) and skipped: the rest of the video is captioned.

With dedupe's decisions (``encoded``: which frames were encoded, the rest reusing the vector of
the last frame encoded), a window whose frames all share one encoded frame with every frame of
the window before (one held picture across both, as dedupe judged it) is not captioned again: it
takes that window's caption, as its frames took that frame's vector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vagent.components import Captioner
from vagent.types import TextSpan

Warn = Callable[[str], None]


@dataclass
class CaptionTrack:
    captioner: Captioner
    seconds: float
    warn: Warn
    per_window: int = 4
    batch: int = 4
    spans: list[TextSpan] = field(default_factory=list)
    failed: int = 0
    reused: int = 0  # windows that took the caption of the window before (one held picture)
    _window: int = -1
    _frames: list[tuple[float, np.ndarray]] = field(default_factory=list)
    _ready: list[tuple[float, float, np.ndarray | None]] = field(default_factory=list)
    _group: int = -1  # numbers the frames encoded: a reused frame is in its source's group
    _groups: set[int] = field(default_factory=set)  # of the open window's frames
    _held: int | None = None  # the one group of the last window closed (None: several)
    _closed: int = -2  # the last window closed
    _last_text: str = ""  # the caption of the last window captioned

    def add(self, times: np.ndarray, images: np.ndarray, encoded: np.ndarray | None = None) -> None:
        """Frames in time order; ``encoded``: dedupe's mask over them (None: all encoded)."""
        for i, (t, img) in enumerate(zip(times, images)):
            if encoded is None or encoded[i] or self._group < 0:
                self._group += 1
            w = int(float(t) // self.seconds)
            if w != self._window:
                self._close()
                self._window = w
            self._frames.append((float(t), img))
            self._groups.add(self._group)
        if len(self._ready) >= self.batch:
            self._caption()

    def finish(self) -> list[TextSpan]:
        self._close()
        self._caption()
        return self.spans

    def _close(self) -> None:
        if not self._frames:
            return
        pick = np.linspace(0, len(self._frames) - 1, min(self.per_window, len(self._frames)))
        chosen = [self._frames[i] for i in pick.round().astype(int)]
        start = self._window * self.seconds
        end = start + self.seconds
        held = next(iter(self._groups)) if len(self._groups) == 1 else None
        same = held is not None and held == self._held and self._window == self._closed + 1
        self._held, self._closed, self._groups = held, self._window, set()
        self.reused += same
        clip = None if same else np.stack([img for _, img in chosen])  # None: the one before's
        self._ready.append((start, end, clip))
        self._frames = []

    def _caption(self) -> None:
        ready, self._ready = self._ready, []
        todo = [(s, e, clip) for s, e, clip in ready if clip is not None]
        if not ready:
            return
        try:
            texts = self.captioner.caption([clip for _, _, clip in todo]) if todo else []
            if len(texts) != len(todo):
                raise ValueError(f"gave {len(texts)} captions for {len(todo)} clips")
        except Exception:
            texts = [self._one(s, e, clip) for s, e, clip in todo]
        told = iter(texts)
        for start, end, clip in ready:
            text = next(told) if clip is not None else self._last_text
            self._last_text = text
            if text and text.strip():
                self.spans.append(TextSpan(start, end, "caption", " ".join(text.split())))

    def _one(self, start: float, end: float, clip: np.ndarray) -> str:
        try:
            out = self.captioner.caption([clip])
            return out[0] if out else ""
        except Exception as exc:
            self.failed += 1
            self.warn(
                f"captioner {self.captioner.id} failed on {start:.0f}-{end:.0f} s "
                f"({type(exc).__name__}: {exc}); that window has no caption"
            )
            return ""
