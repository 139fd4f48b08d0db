"""Checking a library's stored KV caches against the catalog, and dropping the damaged ones.

Every ``kv_caches`` row records its cache's size and the sha256 of the cached tensor's bytes.
The ``kv_store`` checks each row's cache (``KVStore.scan``): one that is missing, of another
size, unreadable, made under another fingerprint, or whose bytes hash to something else is
*damaged*: ``check_kv`` names each one, ``repair_kv`` drops its row and its cache so that
``vagent kv build`` makes it again. Both check every byte; `vagent kv info` and `kv build` let
the store trust caches not written since their row. Nothing here knows how the store keeps its
caches, and no model is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete

from vagent.catalog.schema import KvRow
from vagent.components.kv_store import KvStatus
from vagent.integrity.owner import repair_hint
from vagent.kv.maintain import scan
from vagent.kv.store import store_of
from vagent.locking import write_lock

if TYPE_CHECKING:
    from vagent.library import Library


def damaged(library: Library, *, full: bool = True) -> list[tuple[KvRow, KvStatus]]:
    """The library's cache rows whose caches are damaged, with what the store found
    (``full``: check every byte, see ``KVStore.scan``)."""
    found, _ = scan(library, full=full)
    return [(row, status) for row, status in found if status.damaged]


def _line(row: KvRow, status: KvStatus) -> str:
    where = status.where or status.name
    return f"KV cache {where} of segment {row.segment_id} is damaged ({status.reason})"


def check_kv(library: Library) -> list[str]:
    """One line per damaged KV cache of ``library`` (every byte checked); empty when all are
    intact."""
    hint = repair_hint(library.location)
    return [f"{_line(row, s)}: `{hint}` drops it" for row, s in damaged(library)]


def _drop(library: Library) -> list[tuple[KvRow, KvStatus]]:
    bad = damaged(library)
    if bad:
        with library.catalog.session() as s:
            s.execute(delete(KvRow).where(KvRow.id.in_([r.id for r, _ in bad])))
        store_of(library.root).drop([r.file for r, _ in bad])
    return bad


def repair_kv(library: Library, *, locked: bool = False) -> list[str]:
    """Drop every damaged cache (its catalog row, then the cache); one line per cache dropped
    (empty: none was damaged). `vagent kv build` makes them again. Takes the library's write
    lock unless the caller holds it (``locked``)."""
    if locked:
        bad = _drop(library)
    else:
        with write_lock(Path(library.root)):
            bad = _drop(library)
    return [f"{_line(row, s)}: dropped; `vagent kv build` makes it again" for row, s in bad]
