"""KV-cache reuse: encode each video segment through a language model once, store its cache,
and answer later from the stored caches of the retrieved segments instead of re-encoding.

The core keeps what is not model compute: the packed format (``packed``), the ``Fingerprint``
every cache is pinned to (model, dtype, prompt template, prefill mode), the errors, the store
contract (``KVStore``, plugin kind ``kv_store``), what a KV-capable answerer's encoder must do
(``encoder``), the orchestration of ``vagent kv build`` (``build``) and store maintenance
(``maintain``, ``verify``). The model compute (prefill, splice, rope shifts, generation) lives
in the plugin that owns the model (``vagent_hf.kvengine``). Importing this package loads no
tensor or model library.
"""

from __future__ import annotations

from vagent.kv.encoder import KvEncoder
from vagent.kv.errors import KvCorrupt, KvError, KvMismatch, KvMissing, UnsupportedRope
from vagent.kv.fingerprint import DEFAULT_WINDOW, MODES, Fingerprint, mode_label
from vagent.kv.packed import DTYPE_NAMES, KvEntry, analytic_bytes, dtype_name
from vagent.kv.store import KvBatch, KvRecord, KVStore, store_of

__all__ = [
    "DEFAULT_WINDOW",
    "DTYPE_NAMES",
    "MODES",
    "Fingerprint",
    "KVStore",
    "KvBatch",
    "KvCorrupt",
    "KvEncoder",
    "KvEntry",
    "KvError",
    "KvMismatch",
    "KvMissing",
    "KvRecord",
    "UnsupportedRope",
    "analytic_bytes",
    "dtype_name",
    "mode_label",
    "store_of",
]
