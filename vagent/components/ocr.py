"""The ``ocr`` kind: on-screen text in sampled frames (the text track)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class OCR(ABC):
    """Reads on-screen text in sampled frames."""

    id: str

    @abstractmethod
    def read(self, images: np.ndarray) -> list[list[str]]:
        """(n, h, w, 3) uint8 RGB -> for each image, the text lines found in it (maybe none)."""

    def load(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Load models now (they otherwise load on first read)."""
