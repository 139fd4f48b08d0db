"""The KV store contract now lives in ``vagent.components.kv_store`` (the ``kv_store`` kind);
re-exported here for older imports."""

from __future__ import annotations

from vagent.components.kv_store import KvBatch, KvRecord, KVStore

__all__ = ["KVStore", "KvBatch", "KvRecord"]
