"""Append-only delta files: a commit that only adds vectors (a live chunk) writes the new ids and
vectors of each kind as one small file instead of rewriting the kind's whole index.

A kind's record entry (``vagent.vectors``) then names its base index file as before and a list of
deltas, oldest first::

    {"name": base, "sha256", "bytes": base bytes, "count": vectors after the deltas,
     "deltas": [{"name", "sha256", "bytes", "count", "level"}, ...]}

Each delta is checked (sha256) and its vectors added to the base on load, so readers see one
generation as before. Deltas are merged as they pile up, ``FANOUT`` of one level into one of the
next (a counter in base ``FANOUT``), while the merged file stays under ``MERGE_BYTES``: a
commit's cost is bounded whatever the stream's length, and so is the list (a few files per level,
plus one per ``MERGE_BYTES`` of vectors). Live chunks and ``vagent index`` commits that only add
vectors land this way (``appendable``); a writer that rewrites the whole index (a file replaced,
``remove``, ``repair``, an index that trains or retrains, ``fold_due``) folds every delta into its
new base.

File format: the magic line, then the ids (int64, n) and vectors (float32, n x dim) as two
``.npy`` arrays (no pickles).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vagent.components import VectorIndex

if TYPE_CHECKING:
    from vagent.catalog import LibraryRow

MAGIC = b"vagent-delta 1\n"
FANOUT = 8  # deltas of one level merged into one of the next
MERGE_BYTES = 64 << 20  # a merge that would write more than this is left undone
# ``vagent index`` folds a kind's deltas into a new base once they hold more than a FOLD_SHARE-th
# of the base's vectors and more than MERGE_BYTES: readers then add at most that share on load,
# and a commit's bytes stay proportional to what it adds, on average, whatever the library's size.
FOLD_SHARE = 8


def delta_name(kind: str, generation: int, tag: str, level: int) -> str:
    return f"{kind}-{tag}-{generation}-L{level}.delta"


def _encode(ids: np.ndarray, vectors: np.ndarray) -> bytes:
    buf = io.BytesIO()
    buf.write(MAGIC)
    np.save(buf, np.ascontiguousarray(ids, np.int64), allow_pickle=False)
    np.save(buf, np.ascontiguousarray(vectors, np.float32), allow_pickle=False)
    return buf.getvalue()


def write_delta(
    root: Path, kind: str, generation: int, tag: str, level: int, ids: np.ndarray, vectors: Any
) -> dict[str, Any]:
    """Write one delta file (atomically: temp file, fsync, rename) and return its entry."""
    from vagent.vectors import write_atomic

    data = _encode(ids, vectors)
    target = root / delta_name(kind, generation, tag, level)

    def save(path: str) -> None:
        with open(path, "wb") as f:
            f.write(data)

    digest = write_atomic(save, target)
    return {"name": target.name, "sha256": digest, "bytes": len(data), "count": len(ids),
            "level": level}  # fmt: skip


def _merge(
    root: Path, kind: str, generation: int, tag: str, level: int, parts: list[dict[str, Any]],
    hint: str,
) -> dict[str, Any]:  # fmt: skip
    """Write ``parts`` (delta entries, in order) as one delta of ``level``, reading one part at
    a time: memory is one part's vectors, not the merged file's."""
    from vagent.vectors import write_atomic

    ids = np.concatenate([read_delta(root / d["name"], d, hint)[0] for d in parts])
    dim = None
    target = root / delta_name(kind, generation, tag, level)

    def save(path: str) -> None:
        nonlocal dim
        with open(path, "wb") as f:
            f.write(MAGIC)
            np.save(f, ids, allow_pickle=False)
            for i, d in enumerate(parts):
                vectors = read_delta(root / d["name"], d, hint)[1]
                if i == 0:
                    dim = vectors.shape[1]
                    header = {"descr": "<f4", "fortran_order": False, "shape": (len(ids), dim)}
                    np.lib.format.write_array_header_1_0(f, header)
                elif vectors.shape[1] != dim:
                    raise ValueError(f"{d['name']}: vectors of width {vectors.shape[1]}, not {dim}")
                f.write(np.ascontiguousarray(vectors, "<f4").tobytes())

    digest = write_atomic(save, target)
    return {"name": target.name, "sha256": digest, "bytes": target.stat().st_size,
            "count": len(ids), "level": level}  # fmt: skip


def read_delta(path: Path, entry: dict[str, Any], hint: str) -> tuple[np.ndarray, np.ndarray]:
    """The ids and vectors of one delta file, checked against its entry; VectorFilesDamaged
    (naming the file) when it is missing, changed or not a delta file."""
    import hashlib

    from vagent.vectors import VectorFileMissing, VectorFilesDamaged

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise VectorFileMissing(path, "vector file missing", hint) from None
    except OSError as exc:
        raise VectorFilesDamaged(path, f"vector file unreadable ({exc.strerror})", hint) from None
    if entry.get("sha256") and hashlib.sha256(data).hexdigest() != entry["sha256"]:
        why = "changed since it was committed"
        if entry.get("bytes") is not None and len(data) != entry["bytes"]:
            why = f"{len(data):,} bytes where {entry['bytes']:,} were committed"
        raise VectorFilesDamaged(path, f"vector file damaged (checksum mismatch: {why})", hint)
    try:
        if not data.startswith(MAGIC):
            raise ValueError("not a vagent delta file")
        buf = io.BytesIO(data[len(MAGIC) :])
        ids = np.load(buf, allow_pickle=False)
        vectors = np.load(buf, allow_pickle=False)
        if ids.ndim != 1 or vectors.ndim != 2 or len(ids) != len(vectors):
            raise ValueError("ids and vectors do not match")
    except ValueError as exc:
        raise VectorFilesDamaged(path, f"vector file unreadable ({exc})", hint) from None
    if entry.get("count") is not None and len(ids) != entry["count"]:
        raise VectorFilesDamaged(
            path, f"vector file holds {len(ids)} vectors, {entry['count']} were committed", hint
        )
    return ids.astype(np.int64), vectors.astype(np.float32)


def apply_deltas(index: VectorIndex, root: Path, deltas: list[dict[str, Any]], hint: str) -> None:
    """Add every delta's vectors to ``index`` (loaded from the base), in one batch."""
    if not deltas:
        return
    parts = [read_delta(root / d["name"], d, hint) for d in deltas]
    ids = np.concatenate([p[0] for p in parts])
    vectors = np.concatenate([p[1] for p in parts])
    if len(ids):
        try:
            index.add(ids, vectors)
        except ValueError as exc:
            from vagent.vectors import VectorFilesDamaged

            raise VectorFilesDamaged(
                root / deltas[-1]["name"], f"vector file does not fit its index ({exc})", hint
            ) from None


def append(
    root: Path,
    kind: str,
    entry: dict[str, Any],
    generation: int,
    tag: str,
    ids: np.ndarray,
    vectors: np.ndarray,
    hint: str,
) -> dict[str, Any]:
    """The kind's record entry after adding ``ids``/``vectors`` as generation ``generation``:
    one new level-0 delta, then merges while the last ``FANOUT`` deltas share a level. Only
    files named by this generation are written; the old ones stay for readers of the last."""
    deltas = list(entry.get("deltas") or [])
    deltas.append(write_delta(root, kind, generation, tag, 0, ids, vectors))
    while len(deltas) >= FANOUT:
        tail = deltas[-FANOUT:]
        level = tail[0]["level"]
        if any(d["level"] != level for d in tail) or sum(d["bytes"] for d in tail) > MERGE_BYTES:
            break
        deltas[-FANOUT:] = [_merge(root, kind, generation, tag, level + 1, tail, hint)]
    return {**entry, "count": int(entry["count"]) + len(ids), "deltas": deltas}


def names(entry: dict[str, Any] | None) -> list[str]:
    """Every file an entry names: its base and its deltas."""
    if not entry:
        return []
    return [entry["name"], *(d["name"] for d in entry.get("deltas") or [])]


def appendable(lib: LibraryRow, kinds: Iterable[str]) -> dict[str, dict[str, Any]] | None:
    """The committed generation's file entries when new vectors can land as deltas: the library
    has its uid and every kind in ``kinds`` has its files recorded with checksums and counts.
    None: the next generation rewrites every vector file."""
    if not lib.uid or lib.generation == 0:
        return None
    from vagent.vectors import files_of, parse_record

    record = parse_record(lib.vector_files)
    if record is None or record.get("generation") != lib.generation:
        return None
    files = files_of(record, lib.generation) or {}
    if set(files) != set(kinds) or not all(
        f.get("sha256") and f.get("count") is not None for f in files.values()
    ):
        return None
    return files


def land_deltas(
    root: Path,
    lib: LibraryRow,
    files: dict[str, dict[str, Any]],
    added: dict[str, tuple[np.ndarray, np.ndarray]],
    hint: str,
) -> tuple[dict[str, Any], str]:
    """Append ``added`` (ids and vectors per kind; a kind with no ids is left as it is) as
    the next generation beside the committed ``files`` (``appendable``'s) and move ``lib`` to
    it; returns the new record and the library's tag. The caller commits the session."""
    import json

    from vagent.vectors import next_record, parse_record, tag_of

    tag = tag_of(lib.uid)
    assert tag is not None  # appendable: the library has its uid
    gen = lib.generation + 1
    files = dict(files)
    for kind, (ids, vectors) in added.items():
        if len(ids):
            files[kind] = append(root, kind, files[kind], gen, tag, ids, vectors, hint)
    record = next_record(parse_record(lib.vector_files), gen, files)
    lib.generation = gen
    lib.vector_files = json.dumps(record)
    return record, tag


def fold_due(entry: dict[str, Any]) -> bool:
    """True when a kind's deltas have grown enough to be folded into a new base (``FOLD_SHARE``):
    more than ``MERGE_BYTES`` in all and more than a ``FOLD_SHARE``-th of the base's vectors."""
    deltas = entry.get("deltas") or []
    held = sum(int(d["count"]) for d in deltas)
    base = int(entry["count"]) - held
    return sum(int(d["bytes"]) for d in deltas) > MERGE_BYTES and held * FOLD_SHARE > base
