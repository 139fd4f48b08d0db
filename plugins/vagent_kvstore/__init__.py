"""Built-in KV store plugin: one safetensors file per segment under ``<library root>/kv/``.

Id ``safetensors``; ``factory(spec, root, budget_bytes=...)``: ``root`` is the library folder,
``budget_bytes`` the host-memory LRU budget for loaded caches (0: no caching).
"""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _factory(spec: str | None, root: Any, **options: Any) -> Any:
    from vagent_kvstore.store import SafetensorsStore

    if spec:
        raise ValueError(f"kv store 'safetensors' takes no spec (got '{spec}')")
    return SafetensorsStore(root, **options)


@hookimpl
def vagent_register_kv_stores(register: Any) -> None:
    register(
        "safetensors",
        _factory,
        description="one safetensors file per segment under <library>/kv/, packed "
        "[layers, 2, kv_heads, tokens, head_dim], mmap-loaded, sha256-checked, LRU host cache",
    )
