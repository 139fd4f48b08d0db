"""Test plugin ``testbroken``: components that each break one rule of their kind's contract, and
one from-scratch index that keeps them all, to show the contract suites tell them apart.

Never registered in a library; the contract tests build them directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tests.plugins.colour import ColourEncoder
from tests.plugins.scripted import Scripted
from vagent.components import Decoder, Judge, Planner, Segmenter, VectorIndex
from vagent.types import Draft, FrameBatch, Question, SegmentSpan, VideoInfo


class GappyWindows(Segmenter):
    """Fixed 10 s windows ending at their own end even when the next frame is far off: sparse
    frames leave gaps (how vagent's fixed windows were before the contract suite)."""

    id = "gappy"

    def segment(self, times: np.ndarray, vectors: np.ndarray, duration: float) -> list[SegmentSpan]:
        window = np.floor(times / 10.0).astype(int)
        out = []
        for w in sorted(set(window.tolist())):
            idx = tuple(int(i) for i in np.flatnonzero(window == w))
            out.append(SegmentSpan(w * 10.0, min((w + 1) * 10.0, duration), idx))
        return out


class LoudColour(ColourEncoder):
    """The colour encoder with rows of length 2."""

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        return 2 * super().encode_images(images)


class RawErrors(Decoder):
    """Wraps a real decoder but lets its own errors out: ValueError, not BadVideo."""

    def __init__(self, inner: Decoder) -> None:
        self.inner = inner

    def probe(self, path: str) -> VideoInfo:
        try:
            return self.inner.probe(path)
        except Exception as exc:
            raise ValueError(str(exc)) from None

    def sample(
        self, path: str, fps: float, size: tuple[int, int] | None, batch_size: int = 32
    ) -> Iterator[FrameBatch]:
        return self.inner.sample(path, fps, size, batch_size)


class NumpyIndex(VectorIndex):
    """Exact inner-product search in numpy, saved with ``np.savez``: a from-scratch index.
    ``miscount=True``: ``remove`` counts the ids asked for, not those it held."""

    def __init__(self, dim: int, miscount: bool = False) -> None:
        self.dim, self.spec, self.miscount = dim, "numpy", miscount
        self._ids = np.zeros(0, np.int64)
        self._x = np.zeros((0, dim), np.float32)

    @property
    def ntotal(self) -> int:
        return len(self._ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self.checked_batch(ids, vectors, self._ids, "numpy index")
        self._ids = np.concatenate([self._ids, ids])
        self._x = np.concatenate([self._x, vectors])

    def remove(self, ids: np.ndarray) -> int:
        gone = np.isin(self._ids, ids)
        self._ids, self._x = self._ids[~gone], self._x[~gone]
        return len(ids) if self.miscount else int(gone.sum())

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        keep = np.ones(len(self._ids), bool) if allowed is None else np.isin(self._ids, allowed)
        ids, x = self._ids[keep], self._x[keep]
        scores = np.full((len(queries), k), -np.inf, np.float32)
        found = np.full((len(queries), k), -1, np.int64)
        sims = np.asarray(queries, np.float32) @ x.T
        top = np.argsort(-sims, axis=1)[:, :k]
        n = top.shape[1]
        scores[:, :n] = np.take_along_axis(sims, top, axis=1)
        found[:, :n] = ids[top]
        return scores, found

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        pos = {int(i): n for n, i in enumerate(self._ids.tolist())}
        return self._x[[pos[int(i)] for i in ids]]

    def save(self, path: str) -> None:
        with open(path, "wb") as f:
            np.savez(f, ids=self._ids, x=self._x)

    def load(self, path: str) -> None:
        with np.load(path) as data:
            self._ids, self._x = data["ids"], data["x"]


class Backwards(Scripted):
    """The scripted answerer, but its drafts come back in reverse order."""

    def answer(self, questions: Sequence[Question]) -> list[Draft]:
        return super().answer(questions)[::-1]


class NoQueries(Planner):
    id = "none"

    def plan(self, question: str, options: Any, history: Any) -> list[str]:
        return []


class Generous(Judge):
    """Scores a perfect answer 2."""

    id = "generous"

    def score(
        self, question: str, reference: str, answer: str, scoring_points: Sequence[str] = ()
    ) -> float:
        return 2.0 if answer == reference else 0.0
