"""Test plugin ``testmemkv``: KV stores held in memory, one per folder, that implement only what
the ``kv_store`` contract requires (put, get, delete, items) and take every maintenance method
(``key_of``, ``scan``, ``usage``, ``drop``) from the base class; and ``OrphanBlindStore``, which
breaks one rule (its ``scan`` never reports orphans), to show the suite catches it.

Never registered in a library; the tests build them directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vagent.components import KvBatch, KvItem, KvRecord, KvStatus, KVStore
from vagent.kv.errors import KvCorrupt, KvMismatch, KvMissing
from vagent.kv.fingerprint import Fingerprint
from vagent.kv.packed import KvEntry, dtype_name


@dataclass
class _Held:
    entry: KvEntry
    fingerprint: Fingerprint
    sha256: str
    bytes: int


# folder -> (key, fingerprint key) -> what was put: a second store on a folder sees the first's
_FOLDERS: dict[str, dict[tuple[str, str], _Held]] = {}


def _sha(entry: KvEntry) -> str:
    import torch

    raw = entry.kv.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return hashlib.sha256(raw).hexdigest()


class MemoryStore(KVStore):
    id = "memory"

    def __init__(self, root: str | Path) -> None:
        self.held = _FOLDERS.setdefault(str(Path(root).resolve()), {})

    @staticmethod
    def _name(key: str, fp: str) -> str:
        return f"{key}@{fp}"

    def put(self, entries: Sequence[KvEntry], fingerprint: Fingerprint) -> list[KvRecord]:
        out = []
        for e in entries:
            kv = e.kv.detach().clone()
            entry = KvEntry(e.key, kv, e.start, fingerprint.key)
            held = _Held(entry, fingerprint, _sha(entry), entry.nbytes)
            self.held[(e.key, fingerprint.key)] = held
            out.append(
                KvRecord(e.key, fingerprint.key, fingerprint.model, dtype_name(kv.dtype),
                         entry.layers, entry.tokens, entry.start, entry.end, held.bytes,
                         held.sha256, self._name(e.key, fingerprint.key))
            )  # fmt: skip
        return out

    def get(
        self,
        keys: Sequence[str],
        fingerprint: Fingerprint,
        checksums: Mapping[str, str] | None = None,
    ) -> KvBatch:
        batch = KvBatch()
        for key in keys:
            held = self.held.get((key, fingerprint.key))
            if held is None:
                others = [h for (k, _), h in self.held.items() if k == key]
                batch.failed[key] = (
                    KvMismatch(f"segment {key}: made under another fingerprint")
                    if others
                    else KvMissing(f"no KV cache of segment {key}")
                )
            elif checksums and checksums.get(key, held.sha256) != held.sha256:
                batch.failed[key] = KvCorrupt(key, self._name(key, fingerprint.key), "sha256")
            else:
                batch.entries[key] = held.entry
        return batch

    def delete(self, keys: Sequence[str], fingerprint: Fingerprint | str | None = None) -> int:
        fp = fingerprint.key if isinstance(fingerprint, Fingerprint) else fingerprint
        gone = [k for k in self.held if k[0] in keys and (fp is None or k[1] == fp)]
        for k in gone:
            del self.held[k]
        return len(gone)

    def items(self) -> list[KvItem]:
        return [
            KvItem(self._name(k, fp), k, fp, h.bytes, f"memory:{self._name(k, fp)}")
            for (k, fp), h in sorted(self.held.items())
        ]


class OrphanBlindStore(MemoryStore):
    """Its ``scan`` checks the records and never reports what no record names."""

    id = "orphan-blind"

    def scan(
        self, records: Sequence[KvRecord], *, full: bool = True, orphans: bool = True
    ) -> list[KvStatus]:
        return super().scan(records, full=full, orphans=False)
