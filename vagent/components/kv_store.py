"""The ``kv_store`` kind: where precomputed segment KV caches live between indexing and asking.

A store keeps one packed cache (``vagent.kv.packed``) per segment key and fingerprint. Reading
is per segment: a missing, corrupt or mismatched cache is reported for its key (the caller
answers from frames for that segment) and the others still load. Importing this module loads
no tensor library: the KV types are only named in annotations.

Looking after a store goes through it too, so the core never learns how it keeps its caches
(file names, headers, format tags): ``items`` lists what it holds, ``scan`` checks the catalog's
records against it (ok, missing, corrupt, mismatched; what no record names is an orphan),
``usage`` adds up its bytes and ``drop`` removes items by name. ``key_of``, ``scan``, ``usage``
and ``drop`` have defaults derived from ``items`` and ``delete``; a store that can check more
(checksums) overrides ``scan``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vagent.kv.errors import KvError
    from vagent.kv.fingerprint import Fingerprint
    from vagent.kv.packed import KvEntry


@dataclass(frozen=True)
class KvRecord:
    """What ``put`` wrote for one entry; the fields of the catalog's ``kv_caches`` row.

    ``file``: the file name (relative to the store); ``bytes``: its size on disk; ``sha256``:
    checksum of the packed tensor's bytes; ``start``/``end``: positions of its tokens.
    """

    key: str
    fingerprint: str
    model: str
    dtype: str
    layers: int
    tokens: int
    start: int
    end: int
    bytes: int
    sha256: str
    file: str
    recorded_at: float | None = None
    """When the catalog committed its row (seconds since the epoch; None: not recorded yet, or
    unknown). ``scan(..., full=False)`` re-hashes only items written after it."""


KV_STATES = ("ok", "missing", "corrupt", "mismatched", "orphan")
"""What ``scan`` finds for a record (the first four) or for an item no record names."""


@dataclass(frozen=True)
class KvItem:
    """One thing a store holds: a cache, or a leftover of an interrupted write.

    ``name``: what the store calls it (a ``KvRecord.file``); ``key``/``fingerprint``: the
    segment key and fingerprint key it is stored under ("" for a leftover that names none);
    ``bytes``: its size; ``where``: where it is, for people (relative to the library folder).
    """

    name: str
    key: str
    fingerprint: str
    bytes: int
    where: str


@dataclass(frozen=True)
class KvStatus:
    """What ``scan`` found for one record or orphan item. ``state`` is one of ``KV_STATES``;
    ``reason`` says what is wrong ("" when ok); ``bytes``: the item's size (0 when missing)."""

    name: str
    key: str
    fingerprint: str
    state: str
    reason: str = ""
    bytes: int = 0
    where: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    @property
    def damaged(self) -> bool:
        """A record whose cache cannot be used: missing, corrupt or mismatched."""
        return self.state in ("missing", "corrupt", "mismatched")


@dataclass(frozen=True)
class KvUsage:
    """How many items and bytes (held by a store, or removed by ``drop``)."""

    items: int = 0
    bytes: int = 0


@dataclass
class KvBatch:
    """The result of ``get``: ``entries`` that loaded, and why each of the others did not."""

    entries: dict[str, KvEntry] = field(default_factory=dict)
    failed: dict[str, KvError] = field(default_factory=dict)

    def ordered(self, keys: Sequence[str]) -> list[KvEntry]:
        """The loaded entries among ``keys``, in that order."""
        return [self.entries[k] for k in keys if k in self.entries]


class KVStore(ABC):
    """Stores packed segment caches. ``id``: the component id it was created under."""

    id: str = "kv_store"

    @abstractmethod
    def put(self, entries: Sequence[KvEntry], fingerprint: Fingerprint) -> list[KvRecord]:
        """Write every entry under ``fingerprint`` (replacing an earlier one of the same key and
        fingerprint), each atomically; one ``KvRecord`` per entry, in order."""

    @abstractmethod
    def get(
        self,
        keys: Sequence[str],
        fingerprint: Fingerprint,
        checksums: Mapping[str, str] | None = None,
    ) -> KvBatch:
        """Load the caches of ``keys`` made under ``fingerprint``. Never raises for one key:
        a missing cache is reported as ``KvMissing``, one made under another fingerprint as
        ``KvMismatch``, a truncated or corrupt one (or one whose sha256 is not
        ``checksums[key]``, where given) as ``KvCorrupt``."""

    @abstractmethod
    def delete(self, keys: Sequence[str], fingerprint: Fingerprint | str | None = None) -> int:
        """Remove the caches of ``keys`` made under ``fingerprint`` (a ``Fingerprint`` or its
        key; every fingerprint when None); how many went."""

    @abstractmethod
    def items(self) -> list[KvItem]:
        """Everything the store holds, caches and leftovers of interrupted writes, by name."""

    # ---- looking after a store: defaults derived from items() and delete() ----------------

    def key_of(self, name: str) -> str:
        """The segment key the item ``name`` holds ("" when the store holds no such item)."""
        return next((i.key for i in self.items() if i.name == name), "")

    def scan(
        self, records: Sequence[KvRecord], *, full: bool = True, orphans: bool = True
    ) -> list[KvStatus]:
        """One status per record, in order (is its cache there, whole, of its fingerprint?),
        then (``orphans``) one ``orphan`` per held item no record names. ``full``: check every
        item's bytes (a store that keeps checksums hashes them); otherwise a store may trust
        items not written since ``recorded_at``. The default compares names, fingerprints and
        sizes only."""
        held = {i.name: i for i in self.items()}
        out: list[KvStatus] = []
        for r in records:
            item = held.get(r.file)
            if item is None:
                out.append(KvStatus(r.file, r.key, r.fingerprint, "missing", "missing"))
                continue
            state, reason = "ok", ""
            if item.fingerprint != r.fingerprint:
                state = "mismatched"
                reason = f"made under fingerprint {item.fingerprint or '?'}, not {r.fingerprint}"
            elif item.bytes != r.bytes:
                state, reason = "corrupt", f"{item.bytes} bytes, the catalog recorded {r.bytes}"
            out.append(
                KvStatus(r.file, r.key, r.fingerprint, state, reason, item.bytes, item.where)
            )
        return out + (self.orphans(records, list(held.values())) if orphans else [])

    @staticmethod
    def orphans(records: Sequence[KvRecord], items: Sequence[KvItem]) -> list[KvStatus]:
        """An ``orphan`` status for each of ``items`` that no record names."""
        named = {r.file for r in records}
        return [
            KvStatus(i.name, i.key, i.fingerprint, "orphan", "no catalog row names it", i.bytes,
                     i.where)
            for i in items
            if i.name not in named
        ]  # fmt: skip

    def usage(self) -> KvUsage:
        """Items held and their bytes."""
        held = self.items()
        return KvUsage(len(held), sum(i.bytes for i in held))

    def drop(self, names: Sequence[str]) -> KvUsage:
        """Remove the items called ``names`` (names the store does not hold are skipped, so a
        name from elsewhere never removes anything); what went."""
        held = {i.name: i for i in self.items()}
        gone = [held[n] for n in dict.fromkeys(names) if n in held]
        count = size = 0
        for item in gone:
            if item.key and item.fingerprint and self.delete([item.key], item.fingerprint):
                count, size = count + 1, size + item.bytes
        return KvUsage(count, size)
