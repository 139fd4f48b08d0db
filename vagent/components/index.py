"""The ``index`` kind: inner-product vector search keyed by catalog row ids."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class VectorIndex(ABC):
    """Inner-product search over L2-normalised vectors, keyed by int64 ids (catalog row ids)."""

    dim: int
    spec: str

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n, dim) float32 under ``ids`` (n,) int64."""

    def checked_batch(
        self, ids: np.ndarray, vectors: np.ndarray, present: np.ndarray, name: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """``ids`` as (n,) int64 and ``vectors`` as (n, dim) contiguous float32, or ValueError
        (prefixed ``name``) for a wrong width, a count mismatch, or ids repeated or already in
        ``present`` (the ids the index holds). For ``add`` implementations to share."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(
                f"{name}: vectors of width {vectors.shape[1:]} into a {self.dim}-d index"
            )
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) != len(vectors):
            raise ValueError(f"{name}: {len(ids)} ids for {len(vectors)} vectors")
        if len(np.unique(ids)) != len(ids) or np.isin(ids, present).any():
            raise ValueError(f"{name}: ids already in the index (remove them first)")
        return ids, vectors

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

    @property
    def trained(self) -> bool | None:
        """Whether the index has its final structure: False while a trainable one (IVF, PQ)
        still searches an exact stand-in until it holds enough vectors to train on, True after
        and for an index that needs no training; None (the default) when the backend does not
        say (``vagent info`` then leaves it out)."""
        return None

    @property
    def retrain_due(self) -> bool:
        """True when the next ``save`` would train the index again (it has outgrown what it was
        trained on): a writer then rewrites the whole file rather than appending the vectors it
        added as deltas. False by default."""
        return False
