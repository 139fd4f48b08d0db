"""Test plugin ``testcountcap``: a captioner (id ``countcap``) that names the colour nearest each
clip's median pixel ("a slide of red") and counts the clips it was asked to caption
(``COUNTED``): which windows were captioned is checkable without a model. Registered for one test
at a time, never installed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vagent.components import Captioner
from vagent.hookspecs import hookimpl
from vagent.synth import COLORS

COUNTED: list[int] = []  # clips per caption call, in order


class CountingCaptioner(Captioner):
    id = "countcap"
    semantic = False

    def caption(self, clips: Sequence[np.ndarray]) -> list[str]:
        COUNTED.append(len(clips))
        names = list(COLORS)
        table = np.array([COLORS[n] for n in names], np.float32)
        out = []
        for clip in clips:
            median = np.median(clip.reshape(-1, 3).astype(np.float32), axis=0)
            out.append(f"a slide of {names[int(np.abs(table - median).sum(axis=1).argmin())]}")
        return out


@hookimpl
def vagent_register_captioners(register: Any) -> None:
    register("countcap", lambda spec, **_: CountingCaptioner(), description="test: counts calls")
