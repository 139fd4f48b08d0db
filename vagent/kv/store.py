"""The KV store contract now lives in ``vagent.components.kv_store`` (the ``kv_store`` kind);
re-exported here for older imports. ``store_of`` opens a library's store."""

from __future__ import annotations

from pathlib import Path

from vagent.components.kv_store import KvBatch, KvItem, KvRecord, KvStatus, KVStore, KvUsage

__all__ = ["KVStore", "KvBatch", "KvItem", "KvRecord", "KvStatus", "KvUsage", "store_of"]


def store_of(root: str | Path) -> KVStore:
    """The KV store of the library at ``root``: the ``kv_store`` kind's default."""
    from vagent import plugins
    from vagent.components.kinds import KV_STORE

    if KV_STORE.default is None:  # the table gives every kind the core uses a default
        raise LookupError("the kv_store kind has no default")
    return plugins.registry().create(KV_STORE, KV_STORE.default, root=Path(root))
