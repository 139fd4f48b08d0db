"""Looking after a library's stored KV caches: what is there (``kv_info``), dropping the oldest
over a byte budget (``prune``), and deleting what no catalog row names (``drop_orphans``:
removing a video drops its rows with its segments, its caches stay until then).

Each ``kv_caches`` row names its cache by the name the ``kv_store`` gave it (``KvRow.file``);
how the store keeps it is the store's business: this module only asks it (``KVStore.scan``,
``items``, ``usage``, ``drop``). No model is loaded here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from vagent.catalog import Catalog
from vagent.catalog.schema import KvRow, SegmentRow, VideoRow
from vagent.components.kv_store import KvRecord, KvStatus, KVStore
from vagent.kv.store import store_of
from vagent.locking import write_lock

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def record_of(row: KvRow, store: KVStore) -> KvRecord:
    """The catalog's row as the ``KvRecord`` the store wrote for it (its key read back from
    the name by the store), with the time it was recorded."""
    made = row.created_at
    if made is not None and made.tzinfo is None:
        made = made.replace(tzinfo=timezone.utc)
    return KvRecord(
        key=store.key_of(row.file), fingerprint=row.fingerprint, model=row.model_id,
        dtype=row.dtype, layers=row.layers, tokens=row.tokens, start=row.pos_start,
        end=row.pos_end, bytes=row.bytes, sha256=row.sha256, file=row.file,
        recorded_at=made.timestamp() if made is not None else None,
    )  # fmt: skip


def parse_size(text: str) -> int:
    """Bytes from ``50G``, ``512M``, ``1.5T``, ``2048`` (binary units; a trailing B is fine)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if not m:
        raise ValueError(f"size '{text}': write a number with an optional K, M, G or T (50G)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def library_rows(catalog: Catalog, library_id: int) -> list[KvRow]:
    """Every ``kv_caches`` row of the library, oldest first."""
    if not catalog.has_table(KvRow.__tablename__):
        return []
    vids = select(VideoRow.id).where(VideoRow.library_id == library_id)
    segs = select(SegmentRow.id).where(SegmentRow.video_id.in_(vids))
    q = select(KvRow).where(KvRow.segment_id.in_(segs)).order_by(KvRow.created_at, KvRow.id)
    with catalog.session() as s:
        return list(s.scalars(q))


def scan(
    library: Any, *, full: bool = True, store: KVStore | None = None
) -> tuple[list[tuple[KvRow, KvStatus]], list[KvStatus]]:
    """Each of the library's cache rows with what the store found for it (``full``: see
    ``KVStore.scan``), and the orphans: what the store holds that no row names (left by
    removed videos, replaced caches, killed builds, interrupted writes)."""
    store = store or store_of(library.root)
    rows = library_rows(library.catalog, library.settings().id)
    found = store.scan([record_of(r, store) for r in rows], full=full)
    lost = [s for s in found[len(rows) :] if s.state == "orphan"]
    return list(zip(rows, found[: len(rows)])), lost


def orphans(library: Any, store: KVStore | None = None) -> list[KvStatus]:
    """What the library's store holds that no catalog row names (see ``scan``)."""
    store = store or store_of(library.root)
    known = [record_of(r, store) for r in library_rows(library.catalog, library.settings().id)]
    return store.orphans(known, store.items())


def drop_orphans(library: Any, *, locked: bool = False) -> dict[str, int]:
    """Delete ``orphans(library)``; ``{"files", "bytes"}`` removed. Takes the library's write
    lock (a build writes a cache before its row) unless the caller holds it (``locked``)."""
    if not locked:
        with write_lock(Path(library.root)):
            return drop_orphans(library, locked=True)
    store = store_of(library.root)
    gone = store.drop([o.name for o in orphans(library, store)])
    return {"files": gone.items, "bytes": gone.bytes}


def kv_info(library: Any, *, verify: bool = False) -> dict[str, Any]:
    """Segments cached, bytes, and per fingerprint its model, dtype and counts (intact caches
    only); damaged caches; orphans; what the store holds in all. The store checks each cache
    (``KVStore.scan``): quickly, or every byte when ``verify``."""
    row = library.settings()
    store = store_of(library.root)
    found, lost = scan(library, full=verify, store=store)
    bad = [(r, s) for r, s in found if not s.ok]
    rows = [r for r, s in found if s.ok]
    groups: dict[str, list[KvRow]] = defaultdict(list)
    for r in rows:
        groups[r.fingerprint].append(r)
    held = store.usage()
    return {
        "library": library.name,
        "segments": library.catalog.counts(row.id)["segments"],
        "segments_cached": len({r.segment_id for r in rows}),
        "damaged": [
            {"file": r.file, "segment": r.segment_id, "why": s.reason, "where": s.where}
            for r, s in bad
        ],
        "caches": len(rows),
        "bytes": sum(r.bytes for r in rows),
        "tokens": sum(r.tokens for r in rows),
        "fingerprints": [
            {
                "fingerprint": fp,
                "model": g[0].model_id,
                "dtype": g[0].dtype,
                "layers": g[0].layers,
                "segments": len(g),
                "tokens": sum(r.tokens for r in g),
                "bytes": sum(r.bytes for r in g),
                "oldest": g[0].created_at.isoformat(),
                "newest": g[-1].created_at.isoformat(),
            }
            for fp, g in groups.items()
        ],
        "orphans": {"files": len(lost), "bytes": sum(o.bytes for o in lost)},
        "stored": {"items": held.items, "bytes": held.bytes},
    }


def prune(library: Any, max_bytes: int) -> dict[str, Any]:
    """Drop the least recently created caches until the rest hold ``max_bytes`` at most (rows
    first, then their files: a kill in between leaves orphans, never rows without files), and
    every orphan."""
    if max_bytes < 0:
        raise ValueError(f"--max-bytes must be >= 0, got {max_bytes}")
    row = library.settings()
    root = Path(library.root)
    with write_lock(root):
        rows = library_rows(library.catalog, row.id)
        total = sum(r.bytes for r in rows)
        drop: list[KvRow] = []
        for r in rows:  # oldest first
            if total <= max_bytes:
                break
            drop.append(r)
            total -= r.bytes
        if drop:
            with library.catalog.session() as s:
                s.execute(delete(KvRow).where(KvRow.id.in_([r.id for r in drop])))
        files = store_of(root).drop([r.file for r in drop])
        lost = drop_orphans(library, locked=True)
    return {
        "library": library.name,
        "max_bytes": max_bytes,
        "dropped": len(drop),
        "dropped_bytes": sum(r.bytes for r in drop),
        "files_deleted": files.items,
        "kept": len(rows) - len(drop),
        "kept_bytes": total,
        "orphans_dropped": lost["files"],
        "orphans_bytes": lost["bytes"],
    }
