"""rapidocr behind the OCR contract. The detector is capped (longest side ``limit`` px, no angle
classifier): its defaults upscale small frames and run about ten times slower on video frames.
The detector doubles as the gate that skips recognition on frames without text."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from vagent.components import OCR

MIN_SCORE = 0.5


class RapidOcrReader(OCR):
    def __init__(self, limit: int = 480) -> None:
        self.limit = limit
        self.id = f"rapidocr/{limit}"
        self._engine: Any = None

    def load(self) -> None:
        if self._engine is not None:
            return
        from rapidocr import RapidOCR

        self._engine = RapidOCR(
            params={
                "Global.use_cls": False,
                "Global.log_level": "critical",
                "Det.limit_type": "max",
                "Det.limit_side_len": self.limit,
            }
        )
        logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)

    def read(self, images: np.ndarray) -> list[list[str]]:
        self.load()
        out: list[list[str]] = []
        for rgb in images:
            result = self._engine(np.ascontiguousarray(rgb[:, :, ::-1]))  # it expects BGR
            txts = getattr(result, "txts", None) or ()
            scores = getattr(result, "scores", None) or ()
            out.append([t for t, s in zip(txts, scores) if s >= MIN_SCORE and t.strip()])
        return out
