"""KV-cache reuse: encode each video segment through a language model once, store its cache,
and answer later by splicing the stored caches of the retrieved segments instead of re-encoding.

``prefill`` makes the caches, a ``KVStore`` (plugin kind ``kv_store``) keeps them, ``splice``
joins them into one transformers cache, ``generate`` appends the question and decodes. A
``Fingerprint`` pins every cache to the model, dtype, prompt template and prefill mode.
Pure torch + transformers; no plugin is imported here.
"""

from __future__ import annotations

from vagent.kv.errors import KvCorrupt, KvError, KvMismatch, KvMissing, UnsupportedRope
from vagent.kv.fingerprint import Fingerprint, fingerprint_of
from vagent.kv.generate import generate, question_logits
from vagent.kv.packed import KvEntry, analytic_bytes, pack
from vagent.kv.prefill import Prefilled, encode, mode_label, prefill
from vagent.kv.rope import Rope, rope_of, shift_keys, shift_packed
from vagent.kv.splice import Spliced, splice
from vagent.kv.store import KvBatch, KvRecord, KVStore

__all__ = [
    "Fingerprint",
    "KVStore",
    "KvBatch",
    "KvCorrupt",
    "KvEntry",
    "KvError",
    "KvMismatch",
    "KvMissing",
    "KvRecord",
    "Prefilled",
    "Rope",
    "Spliced",
    "UnsupportedRope",
    "analytic_bytes",
    "encode",
    "fingerprint_of",
    "generate",
    "mode_label",
    "pack",
    "prefill",
    "question_logits",
    "rope_of",
    "shift_keys",
    "shift_packed",
    "splice",
]
