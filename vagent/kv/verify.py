"""Checking a library's stored KV caches against the catalog, and dropping the damaged ones.

Every ``kv_caches`` row records its file's size and the sha256 of the cached tensor's bytes.
A file that is missing, of another size, not a readable safetensors file, or whose tensor bytes
hash to something else is *damaged*: ``check_kv`` names each one, ``repair_kv`` drops its row
and file so that ``vagent kv build`` makes it again. Both hash every file (about 300 MiB/s on
one core); `vagent kv info` and `kv build` hash only files written after their row. The
safetensors layout is read directly (an 8-byte little-endian header length, a JSON header,
then the raw tensor bytes), so no model is loaded here.
"""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete

from vagent.catalog.schema import KvRow
from vagent.integrity.owner import repair_hint
from vagent.kv.maintain import cache_files, is_cache_name, library_rows, remove_files
from vagent.locking import write_lock

if TYPE_CHECKING:
    from vagent.library import Library

FORMAT = "vagent-kv/1"  # what the safetensors store writes in each file's metadata
MAX_HEADER = 16 * 2**20
CHUNK = 4 * 2**20
SLACK_S = 0.5  # file times vs the row's: clock granularity between the write and the commit


def _tensor_range(fh: Any, size: int) -> tuple[int, int, dict[str, str]]:
    """Byte range of the ``kv`` tensor and the file's metadata; ValueError when malformed."""
    head = fh.read(8)
    if len(head) < 8:
        raise ValueError("shorter than a safetensors header")
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER or 8 + n > size:
        raise ValueError(f"header of {n} bytes does not fit the file")
    header = json.loads(fh.read(n))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    meta = header.get("__metadata__") or {}
    kv = header.get("kv")
    if not isinstance(kv, dict) or not isinstance(meta, dict):
        raise ValueError("no 'kv' tensor")
    begin, end = (int(x) for x in kv["data_offsets"])
    if not 0 <= begin <= end or 8 + n + end != size:
        raise ValueError(f"tensor bytes {begin}..{end} do not match the file's size")
    return 8 + n + begin, 8 + n + end, {str(k): str(v) for k, v in meta.items()}


def _changed_since(mtime: float, row: KvRow) -> bool:
    """Whether the file was written after its row was recorded (the store writes the file
    first): someone else wrote it. Unknown times count as changed."""
    made = row.created_at
    if made is None:
        return True
    if made.tzinfo is None:
        made = made.replace(tzinfo=timezone.utc)
    return mtime > made.timestamp() + SLACK_S


def problem(path: Path, row: KvRow, *, full: bool = True) -> str | None:
    """Why the cache file ``path`` of ``row`` cannot be used, or None when it is intact.

    ``full``: hash every file's tensor bytes. Otherwise files are checked by size, header and
    the header's sha256, and hashed only when written after their row (edited in place, or
    copied without times): a bit flipped on disk without a write goes unseen until a full
    check (`vagent check`)."""
    if not is_cache_name(row.file):
        return f"names the file {row.file!r}, not one the KV store writes"
    try:
        if path.is_symlink():
            return "a symbolic link"
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    size = st.st_size
    if size != row.bytes:
        return f"{size} bytes, the catalog recorded {row.bytes}"
    try:
        with open(path, "rb") as fh:
            begin, end, meta = _tensor_range(fh, size)
            if meta.get("format") != FORMAT:
                return "not a vagent KV file"
            if meta.get("sha256") != row.sha256:
                return "the sha256 in its header is not the catalog's"
            if not full and not _changed_since(st.st_mtime, row):
                return None
            fh.seek(begin)
            digest = hashlib.sha256()
            left = end - begin
            while left > 0:
                chunk = fh.read(min(CHUNK, left))
                if not chunk:
                    return "ends early"
                digest.update(chunk)
                left -= len(chunk)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable ({type(exc).__name__}: {exc})"
    got = digest.hexdigest()
    if got != row.sha256:
        return f"sha256 of its bytes {got[:12]} != the catalog's {row.sha256[:12]}"
    return None


def damaged(library: Library, *, full: bool = True) -> list[tuple[KvRow, str]]:
    """The library's cache rows whose files are damaged, with why (``full``: see ``problem``)."""
    folder = Path(library.root) / "kv"
    out = []
    for row in library_rows(library.catalog, library.settings().id):
        why = problem(folder / row.file, row, full=full)
        if why is not None:
            out.append((row, why))
    return out


def _line(row: KvRow, why: str) -> str:
    return f"KV cache kv/{row.file} of segment {row.segment_id} is damaged ({why})"


def check_kv(library: Library) -> list[str]:
    """One line per damaged KV cache file of ``library`` (every file hashed); empty when all
    are intact."""
    hint = repair_hint(library.location)
    return [f"{_line(row, why)}: `{hint}` drops it" for row, why in damaged(library)]


def _drop(library: Library) -> list[tuple[KvRow, str]]:
    bad = damaged(library)
    if bad:
        with library.catalog.session() as s:
            s.execute(delete(KvRow).where(KvRow.id.in_([r.id for r, _ in bad])))
        remove_files(cache_files(Path(library.root), [r.file for r, _ in bad]))
    return bad


def repair_kv(library: Library, *, locked: bool = False) -> list[str]:
    """Drop every damaged cache (its catalog row, then its file); one line per cache dropped
    (empty: none was damaged). `vagent kv build` makes them again. Takes the library's write
    lock unless the caller holds it (``locked``)."""
    if locked:
        bad = _drop(library)
    else:
        with write_lock(Path(library.root)):
            bad = _drop(library)
    return [f"{_line(row, why)}: dropped; `vagent kv build` makes it again" for row, why in bad]
