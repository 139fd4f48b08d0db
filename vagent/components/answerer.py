"""The ``answerer`` kind: the video-LLM tool the agent calls, and its optional KV capability."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vagent.types import Draft, Evidence, Question

if TYPE_CHECKING:
    from vagent.kv.encoder import KvEncoder
    from vagent.kv.fingerprint import Fingerprint


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


@runtime_checkable
class KvAnswerer(Protocol):
    """An answerer that can prefill its own segment caches (``hf-text``): the interface
    ``vagent kv build`` talks to (it never imports the plugin)."""

    id: str

    def kv_encoder(self, mode: str, window: int | None, dtype: str | None = None) -> KvEncoder:
        """The encoder that prefills this answerer's segment caches with its own model, in
        prefill ``mode`` (``stream`` or ``independent``) with ``window`` (see
        ``vagent.kv.encoder.KvEncoder``), yielding caches in ``dtype`` (a name from
        ``vagent.kv.packed.DTYPE_NAMES``; None: the model's). May load the model; raises
        ``UnsupportedRope`` when its caches cannot be moved to new positions."""
        ...

    def kv_key(self, evidence: Evidence) -> str: ...
