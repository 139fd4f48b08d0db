"""Test plugin ``testcountocr``: an OCR reader that counts the frames it reads.

A frame's one line names the colour of ``vagent.synth.COLORS`` nearest to its mean (the
background of a ``vagent.bench.content`` slide), so its lines are checkable without a model.
``FRAMES_READ`` counts every frame read since the last ``reset()``. Registered for one test at a
time (``tests.conftest.using_plugins``), never installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vagent.components import OCR
from vagent.hookspecs import hookimpl
from vagent.synth import COLORS

NAMES = list(COLORS)
PALETTE = np.array([COLORS[n] for n in NAMES], np.float32)
FRAMES_READ = [0]


def reset() -> None:
    FRAMES_READ[0] = 0


class CountingOcr(OCR):
    id = "countocr"

    def read(self, images: np.ndarray) -> list[list[str]]:
        FRAMES_READ[0] += len(images)
        mean = images.reshape(len(images), -1, 3).mean(axis=1)
        nearest = np.linalg.norm(mean[:, None, :] - PALETTE[None], axis=2).argmin(axis=1)
        return [[f"slide colour {NAMES[j]}"] for j in nearest]


@hookimpl
def vagent_register_ocr(register: Any) -> None:
    register("countocr", lambda spec=None, **_: CountingOcr(), description="test: counts frames")
