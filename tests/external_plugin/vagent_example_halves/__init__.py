"""Example third-party plugin: segmenter ``halves`` cuts each video into two equal halves."""

from __future__ import annotations

from typing import Any

import numpy as np

from vagent.components import Segmenter
from vagent.hookspecs import hookimpl
from vagent.types import SegmentSpan


class Halves(Segmenter):
    id = "halves"

    def segment(self, times: np.ndarray, vectors: np.ndarray, duration: float) -> list[SegmentSpan]:
        if len(times) == 0:
            return []
        mid = duration / 2
        first = tuple(int(i) for i in np.flatnonzero(times < mid))
        second = tuple(int(i) for i in np.flatnonzero(times >= mid))
        if not first or not second:  # all frames on one side: one segment, the whole video
            return [SegmentSpan(0.0, duration, first + second)]
        return [SegmentSpan(0.0, mid, first), SegmentSpan(mid, duration, second)]


@hookimpl
def vagent_register_segmenters(register: Any) -> None:
    register("halves", lambda spec, **_: Halves(), description="two halves per video")
