"""A least-recently-used map with a budget in bytes (loaded KV caches kept in host memory)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from vagent.kv.packed import KvEntry


class ByteLRU:
    """Keeps entries while their bytes add up to at most ``budget``; the oldest go first."""

    def __init__(self, budget: int) -> None:
        self.budget = max(int(budget), 0)
        self.used = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, KvEntry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> KvEntry | None:
        entry = self._items.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: Hashable, entry: KvEntry) -> None:
        self.discard(key)
        if entry.nbytes > self.budget:
            return
        self._items[key] = entry
        self.used += entry.nbytes
        while self.used > self.budget:
            _, old = self._items.popitem(last=False)
            self.used -= old.nbytes

    def discard(self, key: Hashable) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.used -= old.nbytes

    def clear(self) -> None:
        self._items.clear()
        self.used = 0
