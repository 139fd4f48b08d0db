"""The ``captioner`` kind: segments described in words (the text track)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class Captioner(ABC):
    """Describes segments in words (the text track's ``caption`` source).

    ``semantic``: False for random-weight models, whose captions carry no meaning.
    """

    id: str
    semantic: bool = True

    @abstractmethod
    def caption(self, clips: Sequence[np.ndarray]) -> list[str]:
        """One caption per clip; each clip is a segment's frames, (n, h, w, 3) uint8 RGB."""

    def load(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Load weights now (they otherwise load on first caption). Raises ModelUnavailable."""
