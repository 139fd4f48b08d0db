"""Segmenters work on the sampled frames' times and vectors, after encoding: no second decode."""

from __future__ import annotations

import numpy as np

from vagent.components import Segmenter
from vagent.types import SegmentSpan


def _spans(times: np.ndarray, starts: list[int], duration: float) -> list[SegmentSpan]:
    """Turn the frame indices that open each segment into spans covering [0, end)."""
    n = len(times)
    end_of_video = max(duration, float(times[-1]) + 1e-3) if n else duration
    spans = []
    for j, first in enumerate(starts):
        last = starts[j + 1] if j + 1 < len(starts) else n
        start = 0.0 if j == 0 else float(times[first])
        end = float(times[last]) if last < n else end_of_video
        spans.append(SegmentSpan(start, end, tuple(range(first, last))))
    return spans


class FixedWindows(Segmenter):
    """Windows of ``seconds``: frame at time t belongs to window floor(t / seconds)."""

    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("segment length must be positive")
        self.seconds = seconds
        self.id = f"fixed/{seconds:g}"

    def segment(self, times: np.ndarray, vectors: np.ndarray, duration: float) -> list[SegmentSpan]:
        if len(times) == 0:
            return []
        window = np.floor(times / self.seconds).astype(np.int64)
        starts = [0] + [i for i in range(1, len(times)) if window[i] != window[i - 1]]
        end_of_video = max(duration, float(times[-1]) + 1e-3)
        spans = []
        for j, first in enumerate(starts):
            last = starts[j + 1] if j + 1 < len(starts) else len(times)
            w = int(window[first])
            # a window runs on to the next one with frames (frames sparser than windows leave
            # no gap), the last one to the end of the video
            end = int(window[last]) * self.seconds if last < len(times) else end_of_video
            spans.append(SegmentSpan(w * self.seconds, end, tuple(range(first, last))))
        return spans


class SceneCuts(Segmenter):
    """Cut where the cosine distance between consecutive frames exceeds ``threshold``; cap each
    scene at ``max_seconds`` so one long static shot still yields searchable units."""

    def __init__(self, threshold: float, max_seconds: float) -> None:
        self.threshold = threshold
        self.max_seconds = max_seconds
        self.id = f"scene/{threshold:g}"

    def segment(self, times: np.ndarray, vectors: np.ndarray, duration: float) -> list[SegmentSpan]:
        if len(times) == 0:
            return []
        dist = 1.0 - np.einsum("ij,ij->i", vectors[1:], vectors[:-1])
        starts = [0]
        for i in range(1, len(times)):
            too_long = times[i] - times[starts[-1]] >= self.max_seconds
            if dist[i - 1] > self.threshold or too_long:
                starts.append(i)
        return _spans(times, starts, duration)
