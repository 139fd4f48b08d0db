"""Test plugin ``testkvscripted``: the ``scripted`` answerer with the KV capability, its caches
made from a hash of each segment's words (no model), to run the answerer contract's KV check
without one; and ``ForeignKv``, whose encoder makes caches under a fingerprint the answerer
does not read, which that check must fail.

Never registered in a library; the tests build them directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

from tests.plugins.scripted import Scripted
from vagent.kv.encoder import KvEncoder
from vagent.kv.fingerprint import DEFAULT_WINDOW, Fingerprint, mode_label
from vagent.kv.packed import KvEntry
from vagent.types import Evidence

PREFIX = 4  # positions of the (imagined) prompt prefix


def fingerprint(prefill: str, model: str = "scripted") -> Fingerprint:
    return Fingerprint(model, "r1", "c1", "float32", "t1", prefill)


class WordEncoder(KvEncoder):
    """One token per word of a segment's text; keys and values seeded by the words."""

    def __init__(self, fp: Fingerprint, mode: str, window: int | None) -> None:
        self.fingerprint, self.dtype, self.mode, self.window = fp, "float32", mode, window

    def encode(
        self, evidence: Sequence[Evidence], keys: Sequence[str], before: Sequence[KvEntry] = ()
    ) -> Iterator[KvEntry]:
        import torch

        at = before[-1].end if before and self.mode == "stream" else PREFIX
        for e, key in zip(evidence, keys):
            words = " ".join(t["text"] for t in e.texts).split() or ["-"]
            seed = int(hashlib.sha256(" ".join(words).encode()).hexdigest()[:8], 16)
            kv = torch.randn(2, 2, 2, len(words), 4, generator=torch.Generator().manual_seed(seed))
            yield KvEntry(key, kv, at, self.fingerprint.key)
            if self.mode == "stream":
                at += len(words)


class KvScripted(Scripted):
    """``scripted`` that reads (and makes) caches in both prefill modes."""

    def __init__(self) -> None:
        super().__init__()
        self.id = "kv-scripted"

    def kv_fingerprints(self) -> list[Fingerprint]:
        return [fingerprint(mode_label("stream", DEFAULT_WINDOW)), fingerprint("independent")]

    def kv_encoder(self, mode: str, window: int | None, dtype: str | None = None) -> KvEncoder:
        return WordEncoder(fingerprint(mode_label(mode, window)), mode, window)


class ForeignKv(KvScripted):
    """Makes its caches under another model's fingerprint than the ones it reads."""

    def kv_encoder(self, mode: str, window: int | None, dtype: str | None = None) -> KvEncoder:
        return WordEncoder(fingerprint(mode_label(mode, window), "another"), mode, window)
