"""One small abstract base class per plugin kind. Shapes are stated where they are declared.

Each kind has one abstract batch method at its heart; the rest derive from it or describe it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np

from vagent.types import FrameBatch, SegmentSpan, VideoInfo


class Decoder(ABC):
    """Reads video files. ``probe`` reads headers; ``sample`` yields frames at a fixed rate."""

    id: str = "decoder"

    @abstractmethod
    def probe(self, path: str) -> VideoInfo:
        """Read a file's headers. Raise ``vagent.errors.BadVideo`` naming the reason."""

    @abstractmethod
    def sample(
        self, path: str, fps: float, size: tuple[int, int] | None, batch_size: int = 32
    ) -> Iterator[FrameBatch]:
        """Yield frames at ``fps`` (one per ``1/fps`` seconds, starting at 0) in batches.

        ``size`` is ``(width, height)`` to resize to once, in the decoder (None: native size).
        Each frame is the first decoded frame at or after its sample time. Memory must stay
        bounded by a few batches however long the video is.
        """


class Segmenter(ABC):
    """Groups a video's sampled frames into segments (the unit search returns)."""

    id: str = "segmenter"

    @abstractmethod
    def segment(self, times: np.ndarray, vectors: np.ndarray, duration: float) -> list[SegmentSpan]:
        """Split frames at ``times`` (n,) seconds with ``vectors`` (n, dim) into segments.

        Segments are in time order, cover [0, duration) without overlap, and every frame index
        0..n-1 belongs to exactly one segment.
        """


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


class VectorIndex(ABC):
    """Inner-product search over L2-normalised vectors, keyed by int64 ids (catalog row ids)."""

    dim: int
    spec: str

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n, dim) float32 under ``ids`` (n,) int64."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> int:
        """Remove ``ids``; return how many were present."""

    @abstractmethod
    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(m, dim) queries -> (scores (m, k) float32, ids (m, k) int64); missing slots id -1.

        ``allowed``: restrict results to these ids (None: all).
        """

    @abstractmethod
    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors for ``ids`` (n,) -> (n, dim) float32 (approximate for lossy indexes)."""

    @abstractmethod
    def save(self, path: str) -> None:
        """Write the index to ``path`` (the host makes it atomic: temp file, fsync, rename)."""

    @abstractmethod
    def load(self, path: str) -> None:
        """Replace this index's contents with the file at ``path``."""

    @property
    @abstractmethod
    def ntotal(self) -> int:
        """Number of stored vectors."""


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


class OCR(ABC):
    """Reads on-screen text in sampled frames."""

    id: str

    @abstractmethod
    def read(self, images: np.ndarray) -> list[list[str]]:
        """(n, h, w, 3) uint8 RGB -> for each image, the text lines found in it (maybe none)."""

    def load(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Load models now (they otherwise load on first read)."""
