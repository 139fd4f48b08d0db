"""The KV store contract (``vagent.components.KVStore``); needs torch.

``put`` returns one ``KvRecord`` per entry, in order; ``get`` gives back each tensor exactly (its
dtype and start position kept), reports per key and never raises: a missing key as
``KvMissing``, one made under another fingerprint as ``KvMismatch``, a checksum other than the
one given as ``KvCorrupt``; a second ``put`` of a key replaces it; ``delete`` says how many
went, for one fingerprint or all; a new store over the same folder reads what the first wrote.

``make()`` builds a store over ``self.tmp_path`` (the library's folder).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from vagent.components import KvRecord, KVStore
from vagent.kv.errors import KvCorrupt, KvMismatch, KvMissing
from vagent.kv.fingerprint import Fingerprint
from vagent.kv.packed import KvEntry
from vagent.testing.contracts.base import Contract


def fingerprint(**change: str) -> Fingerprint:
    base = dict(
        model="m", revision="r", config="c", dtype="float32", template="t", prefill="stream/full"
    )
    return Fingerprint(**{**base, **change})


def entries(fp: Fingerprint, dtype: Any = None, n: int = 3, seed: int = 0) -> list[KvEntry]:
    import torch

    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        kv = torch.randn(2, 2, 2, 5 + i, 8, generator=g)
        out.append(KvEntry(f"seg-{i}", kv.to(dtype or torch.float32), 7 * i, fp.key))
    return out


class KVStoreContract(Contract[KVStore]):
    """Subclass and define ``make(self) -> KVStore`` over ``self.tmp_path``."""

    kind: ClassVar[str] = "kv_store"
    base: ClassVar[type] = KVStore

    def _same(self, got: KvEntry, want: KvEntry, what: str) -> None:
        import torch

        self.expect(got.kv.dtype == want.kv.dtype, f"{what}: dtype {got.kv.dtype}")
        self.expect(torch.equal(got.kv, want.kv), f"{what}: the tensor came back changed")
        self.expect(got.start == want.start, f"{what}: start {got.start}, put {want.start}")

    def test_put_records_and_get_round_trip(self) -> None:
        import torch

        store = self.component()
        for dtype in (torch.float32, torch.bfloat16, torch.float16):
            fp = fingerprint(dtype=str(dtype).removeprefix("torch."))
            put = entries(fp, dtype)
            records = store.put(put, fp)
            self.expect(len(records) == len(put), f"{len(records)} records for {len(put)}")
            for r, e in zip(records, put):
                self.expect(isinstance(r, KvRecord), f"put returned {type(r).__name__}")
                self.expect(r.key == e.key and r.fingerprint == fp.key, f"record {r}")
                self.expect((r.layers, r.tokens) == (e.layers, e.tokens), f"record {r}")
                self.expect((r.start, r.end) == (e.start, e.end), f"record positions {r}")
                self.expect(r.bytes > 0 and re.fullmatch(r"[0-9a-f]{64}", r.sha256), f"{r}")
            got = store.get([e.key for e in put], fp, {r.key: r.sha256 for r in records})
            self.expect(not got.failed, f"{dtype}: {got.failed}")
            for e in put:
                self._same(got.entries[e.key], e, f"{dtype} {e.key}")
            order = [e.key for e in reversed(put)]
            self.expect([x.key for x in got.ordered(order)] == order, "ordered() order")

    def test_missing_mismatched_and_corrupt_are_reported_per_key(self) -> None:
        store = self.component()
        fp = fingerprint()
        put = entries(fp)
        store.put(put, fp)
        got = store.get(["seg-0", "nope", "seg-1"], fp, {"seg-1": "0" * 64})
        self.expect(sorted(got.entries) == ["seg-0"], f"loaded {sorted(got.entries)}")
        self.expect(isinstance(got.failed.get("nope"), KvMissing), f"missing: {got.failed}")
        self.expect(isinstance(got.failed.get("seg-1"), KvCorrupt), f"checksum: {got.failed}")
        other = store.get(["seg-0"], fingerprint(model="another"))
        failed = other.failed.get("seg-0")
        self.expect(
            isinstance(failed, (KvMismatch, KvMissing)) and not other.entries,
            f"under another fingerprint: {other.entries} {other.failed}",
        )

    def test_put_replaces_and_delete_counts(self) -> None:
        store = self.component()
        fp, fp2 = fingerprint(), fingerprint(template="t2")
        first, second = entries(fp, seed=1), entries(fp, seed=2)
        store.put(first, fp)
        self._same(store.get(["seg-2"], fp).entries["seg-2"], first[2], "after a put")
        store.put(second, fp)
        got = store.get(["seg-2"], fp)
        self._same(got.entries["seg-2"], second[2], "after a second put")
        store.put(entries(fp2, seed=3), fp2)
        gone = store.delete(["seg-0", "nope"], fp)
        self.expect(gone == 1, f"delete of one stored key said {gone}")
        after = store.get(["seg-0"], fp)
        self.expect(
            isinstance(after.failed.get("seg-0"), (KvMissing, KvMismatch)) and not after.entries,
            f"a deleted cache still loads: {after.entries} {after.failed}",
        )
        self.expect("seg-0" in store.get(["seg-0"], fp2).entries, "deleted another fingerprint's")
        gone = store.delete(["seg-1"], None)
        self.expect(gone == 2, f"delete under every fingerprint of a key held twice said {gone}")

    def test_a_new_store_reads_what_was_written(self) -> None:
        fp = fingerprint()
        put = entries(fp, seed=4)
        self.component().put(put, fp)
        got = self.make().get([e.key for e in put], fp)
        self.expect(not got.failed, f"a fresh store over the same folder: {got.failed}")
        for e in put:
            self._same(got.entries[e.key], e, f"reopened {e.key}")
