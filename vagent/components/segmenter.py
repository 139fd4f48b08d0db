"""The ``segmenter`` kind: groups sampled frames into segments."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from vagent.types import SegmentSpan


class Segmenter(ABC):
    """Groups a video's sampled frames into segments (the unit search returns)."""

    id: str = "segmenter"

    @abstractmethod
    def segment(self, times: np.ndarray, vectors: np.ndarray, duration: float) -> list[SegmentSpan]:
        """Split frames at ``times`` (n,) seconds with ``vectors`` (n, dim) into segments.

        Segments are in time order, cover [0, duration) without overlap, and every frame index
        0..n-1 belongs to exactly one segment.
        """
