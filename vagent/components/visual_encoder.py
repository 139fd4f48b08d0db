"""The ``visual_encoder`` kind: joint image/text embeddings (CLIP-style)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class VisualEncoder(ABC):
    """Embeds images and text into one space (CLIP-style).

    ``dim``: vector width. ``embedding_space``: an id that is equal for two encoders exactly when
    their vectors are comparable (model + weights); the catalog pins it per library.
    ``semantic``: False for random-weight models, whose vectors carry no meaning.
    ``input_size``: the square side the model sees; decoders resize the short side to it.
    """

    id: str
    dim: int
    embedding_space: str
    semantic: bool = True
    input_size: int = 224

    @abstractmethod
    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """(n, h, w, 3) uint8 RGB -> (n, dim) float32, rows L2-normalised."""

    @abstractmethod
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """n strings -> (n, dim) float32, rows L2-normalised, in the same space as images."""

    def load(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Load weights now (they otherwise load on first encode). Raises ModelUnavailable."""
