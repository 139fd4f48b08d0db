"""The captioner contract (``vagent.components.Captioner``): one caption (a str on one line) per
clip, in order, for clips of one frame or many more than a model shows at once (n may be 0)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from vagent.components import Captioner
from vagent.testing.contracts.base import Contract


def clip(n: int, h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


class CaptionerContract(Contract[Captioner]):
    """Subclass and define ``make(self) -> Captioner``."""

    kind: ClassVar[str] = "captioner"
    base: ClassVar[type] = Captioner
    reuse: ClassVar[bool] = True

    def test_one_caption_per_clip(self) -> None:
        cap = self.component()
        cap.load()
        self.expect(isinstance(cap.id, str) and cap.id, f"id {cap.id!r}")
        self.expect(isinstance(cap.semantic, bool), f"semantic {cap.semantic!r}")
        got = cap.caption([clip(1), clip(12, seed=1), clip(3, 48, 48, seed=2)])
        self.expect(isinstance(got, list) and len(got) == 3, f"{got!r} for 3 clips")
        for text in got:
            self.expect(isinstance(text, str) and "\n" not in text, f"caption {text!r}")
        self.expect(cap.caption([]) == [], "captions for no clips")

    def test_a_caption_does_not_depend_on_its_batch(self) -> None:
        cap = self.component()
        both = cap.caption([clip(1, seed=4), clip(1, seed=5)])
        self.expect(cap.caption([clip(1, seed=5)]) == both[1:], "a clip alone and in a batch")
