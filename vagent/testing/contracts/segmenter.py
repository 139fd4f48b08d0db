"""The segmenter contract (``vagent.components.Segmenter``).

Over frames as a decoder samples them (one per ``1/fps`` seconds from 0, before ``duration``),
with random, constant and scene-like vectors: a list of ``SegmentSpan`` in time order, covering
[0, duration) without gaps or overlap, every frame index in exactly one segment whose range
holds the frame's time; the inputs are left as they were and the same input gives the same
segments.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import numpy as np

from vagent.components import Segmenter
from vagent.testing.contracts.base import Contract
from vagent.types import SegmentSpan

EPS = 1e-6
DIM = 16


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def frames(
    duration: float, fps: float, kind: str = "random", seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sample times (n,) for ``duration`` at ``fps`` and unit vectors (n, DIM) of ``kind``:
    random, constant, or scenes (three blocks of one vector each)."""
    n = int(np.ceil(duration * fps - EPS))
    times = np.arange(n, dtype=np.float64) / fps
    rng = np.random.default_rng(seed)
    if kind == "constant":
        vectors = np.repeat(_unit(rng.standard_normal((1, DIM))), n, axis=0)
    elif kind == "scenes":
        three = _unit(rng.standard_normal((3, DIM)))
        vectors = three[np.minimum((times / duration * 3).astype(int), 2)]
    else:
        vectors = _unit(rng.standard_normal((n, DIM)))
    return times, np.ascontiguousarray(vectors, dtype=np.float32)


CASES: list[tuple[str, float, float, str]] = [
    # name, duration (s), sample rate (fps), vectors
    ("30 s at 1 fps, random", 30.0, 1.0, "random"),
    ("7.3 s at 2 fps, scenes", 7.3, 2.0, "scenes"),
    ("95 s at 0.5 fps, constant", 95.0, 0.5, "constant"),
    ("61 s at 4 fps, scenes", 61.0, 4.0, "scenes"),
    ("one frame, 30 s", 30.0, 1 / 30, "random"),
    ("one frame, 0.4 s", 0.4, 1.0, "random"),
]


class SegmenterContract(Contract[Segmenter]):
    """Subclass and define ``make(self) -> Segmenter``."""

    kind: ClassVar[str] = "segmenter"
    base: ClassVar[type] = Segmenter

    def _valid(self, name: str, spans: object, times: np.ndarray, duration: float) -> None:
        where = f"{name}:"
        self.expect(isinstance(spans, list), f"{where} segment() returned {type(spans).__name__}")
        assert isinstance(spans, list)
        self.expect(
            all(isinstance(s, SegmentSpan) for s in spans), f"{where} items are not SegmentSpan"
        )
        n = len(times)
        if n == 0:
            self.expect(
                all(not s.frames for s in spans), f"{where} frames named though none were given"
            )
            return
        self.expect(spans, f"{where} {n} frames but no segments")
        self.expect(abs(spans[0].start) <= EPS, f"{where} first segment starts at {spans[0].start}")
        for a, b in itertools.pairwise(spans):
            self.expect(a.start < a.end, f"{where} empty or reversed range {a.start}-{a.end}")
            self.expect(b.start >= a.end - EPS, f"{where} {a.start}-{a.end} overlaps {b.start}")
            self.expect(b.start <= a.end + EPS, f"{where} gap between {a.end} and {b.start}")
        last = spans[-1]
        self.expect(last.start < last.end, f"{where} empty last range {last.start}-{last.end}")
        self.expect(
            abs(last.end - duration) <= 1e-3,
            f"{where} segments end at {last.end}, not at the duration {duration}",
        )
        owner: dict[int, int] = {}
        for k, s in enumerate(spans):
            for i in s.frames:
                self.expect(isinstance(i, (int, np.integer)), f"{where} frame index {i!r}")
                self.expect(0 <= i < n, f"{where} frame index {i} outside 0..{n - 1}")
                self.expect(i not in owner, f"{where} frame {i} is in two segments")
                owner[int(i)] = k
                t = float(times[i])
                self.expect(
                    s.start - EPS <= t < s.end,
                    f"{where} frame {i} at {t:g} s is outside its segment {s.start}-{s.end}",
                )
        missing = sorted(set(range(n)) - set(owner))
        self.expect(not missing, f"{where} frames {missing[:5]} are in no segment")

    def test_returns_a_partition_of_the_frames_covering_the_video(self) -> None:
        seg = self.component()
        for name, duration, fps, kind in CASES:
            times, vectors = frames(duration, fps, kind)
            self._valid(name, seg.segment(times, vectors, duration), times, duration)

    def test_no_frames(self) -> None:
        seg = self.component()
        times, vectors = np.zeros(0), np.zeros((0, DIM), np.float32)
        self._valid("no frames", seg.segment(times, vectors, 12.0), times, 12.0)

    def test_inputs_are_not_changed(self) -> None:
        seg = self.component()
        times, vectors = frames(40.0, 1.0, "scenes")
        t0, v0 = times.copy(), vectors.copy()
        seg.segment(times, vectors, 40.0)
        self.expect(np.array_equal(times, t0) and np.array_equal(vectors, v0), "changed its inputs")

    def test_same_input_same_segments(self) -> None:
        times, vectors = frames(45.0, 2.0, "random", seed=3)
        first = self.component().segment(times, vectors, 45.0)
        again = self.make().segment(times.copy(), vectors.copy(), 45.0)
        self.expect(first == again, "two runs over the same frames gave different segments")

    def test_has_an_id(self) -> None:
        seg = self.component()
        self.expect(isinstance(seg.id, str) and seg.id, f"id {seg.id!r} is not a non-empty str")
