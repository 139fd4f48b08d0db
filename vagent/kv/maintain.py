"""Looking after a library's stored KV caches: what is there (``kv_info``), dropping the oldest
over a byte budget (``prune``), and deleting files no catalog row names (``drop_orphans``:
removing a video drops its rows with its segments, its files stay until then).

Each ``kv_caches`` row names its file (``KvRow.file``) under ``<library>/kv/``, where the
``safetensors`` store keeps one file per row. No model is loaded here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from vagent.catalog import Catalog
from vagent.catalog.schema import KvRow, SegmentRow, VideoRow
from vagent.locking import write_lock

SUFFIX = ".safetensors"
_CACHE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}\.[A-Za-z0-9_-]{1,128}\.safetensors")
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def is_cache_name(file: str) -> bool:
    """Whether ``file`` is a name the KV store writes (``<key>.<fingerprint>.safetensors``):
    a catalog row naming anything else (``../x``, a path) never has a file opened or deleted."""
    return _CACHE_NAME.fullmatch(file) is not None


def cache_files(root: Path, files: list[str]) -> list[Path]:
    """The paths under ``<root>/kv/`` of the well-formed names among ``files`` (none when that
    folder is a symbolic link: files are deleted only inside the library)."""
    folder = root / "kv"
    if folder.is_symlink():
        return []
    return [folder / f for f in files if is_cache_name(f)]


def file_key(file: str) -> str:
    """The key a stored file holds (stores name files ``<key>.<...>``; keys hold no dots)."""
    return file.split(".", 1)[0]


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


def orphans(library: Any) -> list[Path]:
    """Cache files under ``<library>/kv/`` that no catalog row names (left by removed videos,
    replaced caches or killed builds), with temporary files of interrupted writes."""
    folder = Path(library.root) / "kv"
    if not folder.is_dir() or folder.is_symlink():
        return []
    known = {r.file for r in library_rows(library.catalog, library.settings().id)}
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.name.endswith((".tmp", SUFFIX)) and p.name not in known
    )


def remove_files(paths: list[Path]) -> dict[str, int]:
    """Delete ``paths`` (those already gone are skipped); ``{"files", "bytes"}`` removed."""
    gone = size = 0
    for p in paths:
        try:
            n = p.stat().st_size
            p.unlink()
        except FileNotFoundError:
            continue
        gone, size = gone + 1, size + n
    return {"files": gone, "bytes": size}


def drop_orphans(library: Any, *, locked: bool = False) -> dict[str, int]:
    """Delete ``orphans(library)``; ``{"files", "bytes"}`` removed. Takes the library's write
    lock (a build writes a file before its row) unless the caller holds it (``locked``)."""
    if locked:
        return remove_files(orphans(library))
    with write_lock(Path(library.root)):
        return remove_files(orphans(library))


def kv_info(library: Any, *, verify: bool = False) -> dict[str, Any]:
    """Segments cached, bytes, and per fingerprint its model, dtype and counts (intact caches
    only); damaged caches; orphan files. Files are checked by size and header, and hashed when
    written after their row or when ``verify`` (see ``verify.problem``)."""
    from vagent.kv.verify import damaged

    row = library.settings()
    bad = damaged(library, full=verify)
    broken = {r.id for r, _ in bad}
    rows = [r for r in library_rows(library.catalog, row.id) if r.id not in broken]
    groups: dict[str, list[KvRow]] = defaultdict(list)
    for r in rows:
        groups[r.fingerprint].append(r)
    lost = orphans(library)
    return {
        "library": library.name,
        "segments": library.catalog.counts(row.id)["segments"],
        "segments_cached": len({r.segment_id for r in rows}),
        "damaged": [{"file": r.file, "segment": r.segment_id, "why": why} for r, why in bad],
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
        "orphans": {"files": len(lost), "bytes": sum(p.stat().st_size for p in lost)},
    }


def prune(library: Any, max_bytes: int) -> dict[str, Any]:
    """Drop the least recently created caches until the rest hold ``max_bytes`` at most (rows
    first, then their files: a kill in between leaves orphans, never rows without files), and
    every orphan file."""
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
        files = remove_files(cache_files(root, [r.file for r in drop]))
        lost = drop_orphans(library, locked=True)
    return {
        "library": library.name,
        "max_bytes": max_bytes,
        "dropped": len(drop),
        "dropped_bytes": sum(r.bytes for r in drop),
        "files_deleted": files["files"],
        "kept": len(rows) - len(drop),
        "kept_bytes": total,
        "orphans_dropped": lost["files"],
        "orphans_bytes": lost["bytes"],
    }
