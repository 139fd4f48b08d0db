"""The OCR contract (``vagent.components.OCR``): one list of text lines (str) per image, in
order, for (n, h, w, 3) uint8 RGB batches of any size (n may be 0); a plain image has no lines;
words drawn on a frame are read back (readers whose ``semantic`` is False are spared that)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from vagent.components import OCR
from vagent.testing.contracts.base import Contract

WORDS = "OPEN 24 HOURS"


def plain(n: int, h: int = 120, w: int = 200, value: int = 90) -> np.ndarray:
    return np.full((n, h, w, 3), value, np.uint8)


class OCRContract(Contract[OCR]):
    """Subclass and define ``make(self) -> OCR``."""

    kind: ClassVar[str] = "ocr"
    base: ClassVar[type] = OCR
    reuse: ClassVar[bool] = True

    def _lines(self, got: object, n: int, what: str) -> list[list[str]]:
        self.expect(isinstance(got, list) and len(got) == n, f"{what}: {got!r} for {n} images")
        assert isinstance(got, list)
        for lines in got:
            self.expect(
                isinstance(lines, list) and all(isinstance(s, str) for s in lines),
                f"{what}: {lines!r} is not a list of str",
            )
        return got

    def test_one_list_per_image_in_order(self) -> None:
        from vagent.synth import draw_text

        ocr = self.component()
        ocr.load()
        ocr.load()
        batch = np.stack([plain(1)[0], draw_text(plain(1, value=60)[0], [WORDS]), plain(1)[0]])
        got = self._lines(ocr.read(batch), 3, "three frames")
        self.expect(got[0] == [] and got[2] == [], f"lines on plain frames: {got}")
        self.expect(got[1] or not getattr(ocr, "semantic", True), f"no lines on the text: {got}")
        self._lines(ocr.read(plain(0)), 0, "no frames")
        self._lines(ocr.read(plain(2, 37, 301)), 2, "odd-sized frames")

    def test_reads_drawn_words(self) -> None:
        from vagent.synth import draw_text

        ocr = self.component()
        if getattr(ocr, "semantic", True) is False:
            self.skip(f"{ocr.id} is not semantic")
        frame = draw_text(plain(1, 240, 320, 40)[0], [WORDS])
        text = " ".join(self._lines(ocr.read(frame[None]), 1, "a frame with text")[0]).upper()
        self.expect("OPEN" in text and "HOURS" in text, f"read {text!r} where {WORDS!r} is drawn")
