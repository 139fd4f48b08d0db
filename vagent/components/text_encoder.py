"""The ``text_encoder`` kind: embeddings of text spans and queries (the text track)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class TextEncoder(ABC):
    """Embeds text spans and queries for the text track. ``dim`` is known after ``load()``."""

    id: str
    dim: int
    embedding_space: str

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """n strings -> (n, dim) float32, rows L2-normalised."""

    def load(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Load weights now (they otherwise load on first encode). Raises ModelUnavailable."""
