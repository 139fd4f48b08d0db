"""Vector files on disk, versioned by the catalog's ``generation`` and owned by one library.

A write makes ``<kind>-<tag>-<gen>.faiss`` for the next generation (temp file, fsync, sha256,
rename), and only then commits the catalog rows together with ``generation = gen`` and the
record of the files (name, sha256, bytes, vector count) in the library row. ``tag`` is the start
of the library's ``uid``, so files name the library and catalog that wrote them. A reader loads
the files of the committed generation and checks them against the record: a damaged file is one
line naming it and ``vagent repair``. A writer killed at any point leaves the last committed pair
intact; files of its uncommitted generations are removed by the next writer, and the generation
before the current one is kept so a reader that just read the old number still finds its files.
A library never deletes vector files it did not write: another tag, or legacy names
(``<kind>-<gen>.faiss``, written before files carried a tag) it has not adopted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vagent.components import VectorIndex
from vagent.errors import VagentError

KINDS = ("segments", "frames", "texts")
_NAME = re.compile(
    r"^(segments|frames|texts)-(?:([0-9a-f]{12})-)?(\d+)(?:\.faiss|-L\d+\.delta)(\.tmp)?$"
)  # a base index file, or an append-only delta (vagent.vector_deltas)
TAG_LENGTH = 12

# A record: {"generation": G, "files": {kind: {"name", "sha256", "bytes", "count"}},
#            "previous": {"generation": G-1, "files": {...}} | None, "adopted": [names]}
Record = dict[str, Any]


class VectorFilesDamaged(VagentError):
    """A vector file of the committed generation is missing, unreadable or not what was
    committed. ``path`` names it; the message says how to repair."""

    def __init__(self, path: Path, reason: str, hint: str) -> None:
        super().__init__(f"{path}: {reason}; run `{hint}`")
        self.path = path
        self.reason = reason


class VectorFileMissing(VectorFilesDamaged, FileNotFoundError):
    """A vector file of the generation read is gone. A reader may have read a generation that
    a writer has since swept (read again); under the write lock it is damage."""


def tag_of(uid: str | None) -> str | None:
    return uid[:TAG_LENGTH] if uid else None


def file_name(kind: str, generation: int, tag: str | None) -> str:
    return f"{kind}-{tag}-{generation}.faiss" if tag else f"{kind}-{generation}.faiss"


def path_for(root: Path, kind: str, generation: int, tag: str | None = None) -> Path:
    return root / file_name(kind, generation, tag)


def parse_record(text: str | None) -> Record | None:
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "generation" in record else None


def files_of(record: Record | None, generation: int) -> dict[str, dict[str, Any]] | None:
    """The recorded files of ``generation`` (the current or the previous one), if recorded."""
    for entry in (record, (record or {}).get("previous")):
        if entry and entry.get("generation") == generation:
            files: dict[str, dict[str, Any]] = entry.get("files") or {}
            return files
    return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(index_save: Callable[[str], None], target: Path) -> str:
    """Call ``index_save(tmp_path)``, fsync, hash and rename onto ``target``; return the
    sha256 of the bytes written."""
    tmp = target.with_name(target.name + ".tmp")
    try:
        index_save(str(tmp))
        _fsync(tmp)
        digest = sha256_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # never leave a partial file behind (a full disk stays full)
        raise
    _fsync(target.parent)
    return digest


def sweep(root: Path, record: Record | None, tag: str | None) -> list[Path]:
    """Delete this library's vector files (its ``tag``, or legacy files it adopted) that the
    record's current and previous generations do not name, and its leftover temp files.
    Files of other tags and unadopted legacy files are never touched. Returns what went."""
    removed: list[Path] = []
    if not root.exists() or tag is None:
        return removed
    keep: set[str] = set()
    for entry in (record, (record or {}).get("previous")):
        for f in ((entry or {}).get("files") or {}).values():
            keep.add(f["name"])
            keep.update(d["name"] for d in f.get("deltas") or [])
    adopted = set((record or {}).get("adopted") or [])
    for p in root.iterdir():
        m = _NAME.match(p.name)
        if not m or p.name in keep:
            continue
        if m.group(2) == tag or (m.group(2) is None and p.name.removesuffix(".tmp") in adopted):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def foreign_files(root: Path, tag: str | None) -> list[Path]:
    """Vector files in ``root`` that ``tag`` did not write (other tags; legacy names when
    ``tag`` is None counts them as unknown too)."""
    if not root.exists():
        return []
    out = []
    for p in sorted(root.iterdir()):
        m = _NAME.match(p.name)
        if m and m.group(2) != tag:
            out.append(p)
    return out


class VectorSet:
    """The vector indexes of one library (segments, frames, and texts when the library has a
    text track), as of one generation. ``makers`` builds an empty index per kind. ``hint`` is
    the command that repairs the library (named when a file is damaged)."""

    def __init__(
        self,
        root: Path,
        makers: dict[str, Callable[[], VectorIndex]],
        hint: str | None = None,
    ) -> None:
        self.root = root
        self._makers = makers
        self.indexes = {kind: make() for kind, make in makers.items()}
        self.generation = 0
        self.record: Record | None = None
        self.names: dict[str, str] = {}
        self.hint = hint or f"vagent repair --library {root}"
        # True when loaded from the record's previous generation (the catalog rows are newer)
        self.stale = False
        self._held: dict[str, set[int]] = {}

    @property
    def segments(self) -> VectorIndex:
        return self.indexes["segments"]

    @property
    def frames(self) -> VectorIndex:
        return self.indexes["frames"]

    @property
    def texts(self) -> VectorIndex | None:
        return self.indexes.get("texts")

    def empty(self) -> dict[str, VectorIndex]:
        return {kind: make() for kind, make in self._makers.items()}

    def load(self, generation: int, record: Record | str | None = None) -> None:
        """Load generation ``generation`` (0: empty), checking each file against ``record``
        (the library row's ``vector_files``) when it names that generation.

        Raises VectorFileMissing (a FileNotFoundError) if a file is gone (a reader: a writer
        may have swept it, read the generation again), VectorFilesDamaged if a file is not what
        was committed."""
        if isinstance(record, str) or record is None:
            record = parse_record(record)
        fresh = self.empty()
        names: dict[str, str] = {}
        if generation > 0:
            recorded = files_of(record, generation)
            for kind, index in fresh.items():
                entry = (recorded or {}).get(kind)
                name = entry["name"] if entry else file_name(kind, generation, None)
                names[kind] = name
                self._load_one(index, self.root / name, entry)
        self.indexes, self.generation, self.record, self.names = fresh, generation, record, names
        self.stale = bool(record) and generation != (record or {}).get("generation")
        self._held = {}

    def held(self, kind: str) -> set[int]:
        """The ids stored in one kind's index (for reading an older generation)."""
        if kind not in self._held:
            ids = getattr(self.indexes[kind], "ids", None)
            self._held[kind] = set(ids().tolist()) if callable(ids) else set()
        return self._held[kind]

    def _load_one(self, index: VectorIndex, path: Path, entry: dict[str, Any] | None) -> None:
        if not path.exists():
            raise VectorFileMissing(path, "vector file missing", self.hint)
        if entry and entry.get("sha256") and sha256_file(path) != entry["sha256"]:
            size = path.stat().st_size
            why = "changed since it was committed"
            if entry.get("bytes") is not None and size != entry["bytes"]:
                why = f"{size:,} bytes where {entry['bytes']:,} were committed"
            why = f"vector file damaged (checksum mismatch: {why})"
            raise VectorFilesDamaged(path, why, self.hint)
        try:
            index.load(str(path))
        except (ValueError, RuntimeError, OSError) as exc:
            why = f"vector file unreadable ({_short(exc)})"
            raise VectorFilesDamaged(path, why, self.hint) from None
        if entry and entry.get("deltas"):  # appended since the base was written
            from vagent.vector_deltas import apply_deltas

            apply_deltas(index, path.parent, entry["deltas"], self.hint)
        count = (entry or {}).get("count")
        if count is not None and index.ntotal != count:
            raise VectorFilesDamaged(
                path, f"vector file holds {index.ntotal} vectors, {count} were committed", self.hint
            )

    def write(self, generation: int, tag: str | None) -> dict[str, dict[str, Any]]:
        """Write every index as generation ``generation`` (not yet visible to readers); return
        the files' record entries."""
        self.root.mkdir(parents=True, exist_ok=True)
        files = {}
        for kind, index in self.indexes.items():
            target = path_for(self.root, kind, generation, tag)
            digest = write_atomic(index.save, target)
            files[kind] = {
                "name": target.name,
                "sha256": digest,
                "bytes": target.stat().st_size,
                "count": index.ntotal,
            }
        return files

    def bytes_on_disk(self) -> dict[str, int]:
        sizes = {}
        for kind in self.indexes:
            name = self.names.get(kind)
            p = self.root / name if name else None
            sizes[kind] = p.stat().st_size if p is not None and p.exists() else 0
            entry = (files_of(self.record, self.generation) or {}).get(kind) or {}
            sizes[kind] += sum(int(d.get("bytes") or 0) for d in entry.get("deltas") or [])
        return sizes


def next_record(old: Record | None, generation: int, files: dict[str, dict[str, Any]]) -> Record:
    """The record after committing ``files`` as ``generation``: the old current generation
    becomes ``previous`` (legacy libraries: its files under legacy names, adopted)."""
    previous: Record | None = None
    adopted = [n for n in (old or {}).get("adopted") or []]
    if old is not None:
        previous = {"generation": old["generation"], "files": old.get("files") or {}}
    elif generation > 1:
        legacy = {k: {"name": file_name(k, generation - 1, None)} for k in files}
        previous = {"generation": generation - 1, "files": legacy}
        adopted += [
            file_name(k, g, None) for k in files for g in (generation - 1, generation - 2) if g > 0
        ]
    record: Record = {"generation": generation, "files": files, "previous": previous}
    if adopted:
        record["adopted"] = sorted(set(adopted))
    return record


def _short(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
