"""One small abstract base class per plugin kind. Shapes are stated where they are declared.

Each kind has one abstract batch method at its heart; the rest derive from it or describe it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vagent.types import Draft, Evidence, FrameBatch, Question, SegmentSpan, VideoInfo

if TYPE_CHECKING:
    from vagent.kv.fingerprint import Fingerprint


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

    def frames_at(
        self, path: str, times: Sequence[float], size: tuple[int, int] | None = None
    ) -> FrameBatch:
        """Frames at the given ``times`` (seconds, any order): the first frame at or after each.

        The default samples the whole file at a rate fine enough to hit every time; decoders
        that can seek should override it. Raises ``vagent.errors.BadVideo``.
        """
        if not times:
            return FrameBatch(np.zeros(0), np.zeros((0, 0, 0, 3), np.uint8))
        want = np.asarray(sorted(set(float(t) for t in times)))
        gaps = np.diff(want)
        step = float(gaps[gaps > 0].min()) if (gaps > 0).any() else 1.0
        fps = min(max(1.0 / step, 1.0), 30.0)
        got_t: list[float] = []
        got_i: list[np.ndarray] = []
        for batch in self.sample(path, fps, size):
            for t, img in zip(batch.times, batch.images):
                got_t.append(float(t))
                got_i.append(img)
        if not got_t:
            raise ValueError(f"{path}: no frames decoded")
        tt = np.asarray(got_t)
        pick = [int(np.abs(tt - t).argmin()) for t in times]
        return FrameBatch(np.asarray([tt[i] for i in pick]), np.stack([got_i[i] for i in pick]))


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


@dataclass(frozen=True)
class Word:
    """One recognised word: ``start``/``end`` in seconds of the file, its ``text`` (with its
    leading space or punctuation as the model wrote it) and the model's ``probability``."""

    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class Utterance:
    """What a recogniser heard in one stretch of speech: times in seconds of the file, the
    text, its words with their own times, the model's ``confidence`` (0..1) and the
    ``language`` (None where the model does not say)."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    confidence: float = 1.0
    language: str | None = None


class ASR(ABC):
    """Speech recognition (the text track's ``speech`` source).

    ``sample_rate``: the audio it takes (16 kHz mono float32 in [-1, 1]). ``semantic``: False
    for models whose transcripts carry no meaning (test fakes).
    """

    id: str
    sample_rate: int = 16000
    semantic: bool = True

    @abstractmethod
    def transcribe(self, audio: np.ndarray, start: float = 0.0) -> list[Utterance]:
        """(n,) float32 mono samples at ``sample_rate`` beginning at ``start`` seconds of the
        file -> the utterances heard, in time order, with times in seconds of the file."""

    def load(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Load weights now (they otherwise load on first transcribe). Raises ModelUnavailable."""


class Answerer(ABC):
    """The video-LLM tool the agent calls: answers questions from the evidence it is given.

    ``wants_frames``: the agent decodes frames for the evidence only when True (text answerers
    read segment times and text spans). ``max_frames``: the most frames one question may carry.
    ``embedding_space``: set by answerers that score with a visual encoder; the library must
    have been built in that space. ``semantic``: False for random-weight models.

    KV-cache reuse is an optional capability (``vagent kv build`` makes the caches): an answerer
    that returns fingerprints from ``kv_fingerprints`` reads ``Evidence.kv`` (a
    ``vagent.kv.KvEntry`` stored under ``kv_key(evidence)`` and one of those fingerprints: the
    keys and values of exactly the tokens it would render for that evidence) in place of
    re-encoding that evidence, and encodes evidence whose ``kv`` is None (or unusable) as usual.
    Its answer is the one it gives without caches, up to the caches' approximation: a cached
    segment was encoded with its own video's context, not with the other evidence shown. The
    agent's gather node loads the caches; answerers that read none never see ``Evidence.kv``.
    """

    id: str
    semantic: bool = True
    wants_frames: bool = False
    max_frames: int = 16
    embedding_space: str | None = None

    @abstractmethod
    def answer(self, questions: Sequence[Question]) -> list[Draft]:
        """One ``Draft`` per ``Question``, in order."""

    def complete(self, prompt: str, max_new_tokens: int = 64) -> str | None:
        """Free text from the answerer's language model (planners use it); None: it has none."""
        return None

    def load(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Load weights now (they otherwise load on first answer). Raises ModelUnavailable."""

    def kv_fingerprints(self) -> list[Fingerprint]:
        """KV-cache reuse: the fingerprints of stored segment caches this answerer reads, best
        first (one per prefill mode it accepts); empty (the default): it reads none. May load
        the model."""
        return []

    def kv_key(self, evidence: Evidence) -> str:
        """KV-cache reuse: the store key of ``evidence``'s cache (letters, digits, ``_``, ``-``).
        Answerers whose rendering of a segment can change (its words, its video's name) put a
        digest of that rendering in the key, so a stale cache is never found."""
        return str(evidence.segment_id)


class Planner(ABC):
    """Splits a question into the sub-queries the agent searches for."""

    id: str

    @abstractmethod
    def plan(
        self, question: str, options: Sequence[str] | None, history: Sequence[dict[str, str]]
    ) -> list[str]:
        """Sub-queries (at least one) for ``question``; ``history``: earlier turns, oldest first."""
