"""The KV store contract (``vagent.components.KVStore``); needs torch.

``put`` returns one ``KvRecord`` per entry, in order; ``get`` gives back each tensor exactly (its
dtype and start position kept), reports per key and never raises: a missing key as
``KvMissing``, one made under another fingerprint as ``KvMismatch``, a checksum other than the
one given as ``KvCorrupt``; a second ``put`` of a key replaces it; ``delete`` says how many
went, for one fingerprint or all; a new store over the same folder reads what the first wrote.
Looking after it: ``items`` lists each record's item (its key, fingerprint and size) under the
record's name, ``key_of`` reads a record's key back from its name, ``usage`` adds them up;
``scan`` says ok for each intact record in order, missing, corrupt or mismatched for a record
whose item is gone, of another size or another fingerprint, and orphan for an item no record
names; ``drop`` removes items by name (names it does not hold: nothing) and says what went.

``make()`` builds a store over ``self.tmp_path`` (the library's folder).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, ClassVar

from vagent.components import KvRecord, KVStore, KvUsage
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

    def _two_fingerprints(self, store: KVStore) -> list[KvRecord]:
        fp, fp2 = fingerprint(), fingerprint(template="t2")
        return store.put(entries(fp, seed=5), fp) + store.put(entries(fp2, n=1, seed=6), fp2)

    def test_items_usage_and_key_of_match_the_records(self) -> None:
        store = self.component()
        self.expect(store.items() == [], f"an empty store lists {store.items()}")
        self.expect(store.usage() == KvUsage(0, 0), f"an empty store uses {store.usage()}")
        records = self._two_fingerprints(store)
        items = {i.name: i for i in store.items()}
        self.expect(
            sorted(items) == sorted(r.file for r in records),
            f"items {sorted(items)} are not the records' {sorted(r.file for r in records)}",
        )
        for r in records:
            item = items.get(r.file)
            if item is None:
                continue
            self.expect(
                (item.key, item.fingerprint, item.bytes) == (r.key, r.fingerprint, r.bytes),
                f"item {item} for record {r.key}/{r.fingerprint} of {r.bytes} bytes",
            )
            self.expect(store.key_of(r.file) == r.key, f"key_of({r.file!r}) != {r.key!r}")
        self.expect(store.key_of("no-such-item") == "", "key_of a name it does not hold")
        want = KvUsage(len(records), sum(r.bytes for r in records))
        self.expect(store.usage() == want, f"usage {store.usage()}, the records say {want}")

    def test_scan_finds_intact_damaged_and_orphans(self) -> None:
        store = self.component()
        records = self._two_fingerprints(store)
        for full in (True, False):
            found = store.scan(records, full=full)
            self.expect(
                [(s.name, s.key, s.state) for s in found]
                == [(r.file, r.key, "ok") for r in records],
                f"scan(full={full}) of intact records: {found}",
            )
        kept, lost = records[1:], records[0]
        found = store.scan(kept)
        self.expect(
            len(found) == len(records),
            f"scan of all but one record reports no orphan for the other: {found}",
        )
        orphan = found[-1]
        self.expect(
            (orphan.name, orphan.state, orphan.bytes) == (lost.file, "orphan", lost.bytes),
            f"an item no record names is not an orphan of its size: {orphan}",
        )
        self.expect(store.scan(kept, orphans=False) == found[:-1], "scan(orphans=False)")
        claims = [
            replace(records[0], bytes=records[0].bytes + 1),  # another size
            replace(records[1], fingerprint="0" * 16),  # another fingerprint
            replace(records[2], file="gone-" + records[2].file),  # not there
        ]
        states = [s.state for s in store.scan(claims, orphans=False)]
        self.expect(
            states[0] == "corrupt" and states[1] == "mismatched" and states[2] != "ok",
            f"a wrong size, fingerprint and name are {states}",
        )
        for s in store.scan(claims, orphans=False):
            self.expect(s.damaged and s.reason, f"a damaged record says nothing: {s}")

    def test_drop_removes_named_items_only(self) -> None:
        store = self.component()
        records = self._two_fingerprints(store)
        first = records[0]
        gone = store.drop([first.file, "no-such-item", "../" + first.file])
        self.expect(gone == KvUsage(1, first.bytes), f"drop of one held item said {gone}")
        self.expect(store.drop([first.file]) == KvUsage(0, 0), "a second drop removed something")
        fp = fingerprint()
        after = store.get([first.key], fp)
        self.expect(not after.entries, f"a dropped cache still loads: {after.entries}")
        others = [r for r in records[1:] if r.fingerprint == fp.key]
        self.expect(
            not store.get([r.key for r in others], fp).failed, "drop removed others' caches"
        )
        want = KvUsage(len(records) - 1, sum(r.bytes for r in records[1:]))
        self.expect(store.usage() == want, f"usage after a drop {store.usage()}, want {want}")
        self.expect(store.scan(records)[0].state == "missing", "a dropped record is not missing")
