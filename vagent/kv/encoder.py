"""What `vagent kv build` asks of a KV-capable answerer (``vagent.components.KvAnswerer``):
a ``KvEncoder`` that prefills segment caches with the answerer's own model.

The core decides which segments need a cache, loads the stored window a stream resumes from,
and writes what the encoder yields to the ``kv_store`` and the catalog; the encoder owns the
model compute (``vagent_hf`` implements it with transformers). No tensor library is imported
here: the caches are ``vagent.kv.packed.KvEntry`` objects the encoder makes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vagent.kv.fingerprint import Fingerprint
    from vagent.kv.packed import KvEntry
    from vagent.types import Evidence


class KvEncoder(ABC):
    """Prefills segment caches for one build: one model, one prefill mode, one stored dtype.

    ``fingerprint``: what every cache it makes is stored under (its ``prefill`` field is
    ``mode_label(mode, window)``); ``dtype``: the name of the dtype its caches come in (one of
    ``vagent.kv.packed.DTYPE_NAMES``). ``mode`` is ``stream`` or ``independent`` and ``window``
    the tokens of earlier segments a stream-mode segment attends to (see ``vagent.kv.build``).
    """

    fingerprint: Fingerprint
    dtype: str
    mode: str
    window: int | None

    @abstractmethod
    def encode(
        self,
        evidence: Sequence[Evidence],
        keys: Sequence[str],
        before: Sequence[KvEntry] = (),
    ) -> Iterator[KvEntry]:
        """Prefill the caches of ``evidence`` (segments of one video in temporal order, each as
        the answerer renders it), yielding one entry per segment under ``keys[i]``, in order,
        as soon as it is made, on the CPU in ``dtype``, so a long video streams into a store in
        bounded memory.

        Stream mode: each segment sees the answerer's prompt prefix and the last ``window``
        tokens before it: those of ``before`` (the stored caches of the segments just before
        the first one, oldest first; empty: ``evidence`` starts the video) and of the segments
        yielded before it. Independent mode: each segment alone behind the prefix; ``before``
        is not read. Raises ``VagentError`` naming the segment when it cannot fit the model's
        positions."""
