"""The ``kv_store`` kind: where precomputed segment KV caches live between indexing and asking.

A store keeps one packed cache (``vagent.kv.packed``) per segment key and fingerprint. Reading
is per segment: a missing, corrupt or mismatched cache is reported for its key (the caller
answers from frames for that segment) and the others still load. Importing this module loads
no tensor library: the KV types are only named in annotations.
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
    def delete(self, keys: Sequence[str], fingerprint: Fingerprint | None = None) -> int:
        """Remove the caches of ``keys`` (under every fingerprint when None); how many went."""
