"""Looking at a library's stored state without trusting it: the catalog file's own integrity
check, and each vector file of the committed generation against its recorded checksum and
against the catalog rows whose ids it should hold."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import make_url

from vagent.catalog import Catalog, FrameRow, LibraryRow, SegmentRow, TextSpanRow, VideoRow
from vagent.components import VectorIndex
from vagent.vectors import VectorFilesDamaged, VectorSet, file_name, files_of, parse_record

TABLES: dict[str, type[SegmentRow | FrameRow | TextSpanRow]] = {
    "segments": SegmentRow,
    "frames": FrameRow,
    "texts": TextSpanRow,
}


def catalog_problems(url: str) -> list[str] | None:
    """SQLite's ``integrity_check`` of the catalog file: [] when sound, one line per problem;
    None when the catalog is not a SQLite file (its server keeps its own integrity)."""
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database
    if not path or not Path(path).exists():
        return [f"catalog {path}: missing"]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [f"catalog {path}: damaged ({exc})"]
    if rows == ["ok"]:
        return []
    return [f"catalog {path}: integrity_check: {r}" for r in rows]


def row_ids(catalog: Catalog, library_id: int, kind: str) -> np.ndarray:
    table = TABLES[kind]
    with catalog.reading() as s:
        vids = select(VideoRow.id).where(VideoRow.library_id == library_id)
        ids = s.scalars(select(table.id).where(table.video_id.in_(vids)))
        return np.array(sorted(ids), np.int64)


@dataclass
class KindState:
    """One kind's vector file of the committed generation, as found."""

    kind: str
    path: Path
    index: VectorIndex | None = None  # loaded (and its checksum matched, if one was recorded)
    problem: str | None = None  # why it cannot be used as it is
    checksummed: bool = False
    missing_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    extra_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def ok(self) -> bool:
        return self.problem is None and not len(self.missing_ids) and not len(self.extra_ids)

    def line(self) -> str:
        if self.problem is not None:
            return f"{self.path}: {self.problem}"
        parts = []
        if len(self.missing_ids):
            parts.append(f"{len(self.missing_ids)} rows have no vector")
        if len(self.extra_ids):
            parts.append(f"{len(self.extra_ids)} vectors have no row")
        return f"{self.path}: ids do not match the catalog ({', '.join(parts)})"


def _ids_of(index: VectorIndex) -> np.ndarray | None:
    ids = getattr(index, "ids", None)
    return np.sort(np.asarray(ids(), np.int64)) if callable(ids) else None


def load_file(vectors: VectorSet, kind: str, path: Path, entry: dict[str, Any] | None) -> Any:
    """Load one vector file, checked against its record ``entry``: (index, problem)."""
    index = vectors.empty()[kind]
    try:
        vectors._load_one(index, path, entry)
    except VectorFilesDamaged as exc:  # a delta file of the kind (vector_deltas) names itself
        return None, exc.reason if exc.path == path else f"{exc.path.name}: {exc.reason}"
    return index, None


def scan_vectors(catalog: Catalog, row: LibraryRow, vectors: VectorSet) -> list[KindState]:
    """Each kind's file of the committed generation: present, its checksum, readable, and its
    ids equal to the catalog's row ids."""
    record = parse_record(row.vector_files)
    recorded = files_of(record, row.generation) or {}
    out = []
    for kind in vectors.indexes:
        entry = recorded.get(kind)
        name = entry["name"] if entry else file_name(kind, row.generation, None)
        state = KindState(kind, vectors.root / name, checksummed=bool(entry))
        want = row_ids(catalog, row.id, kind)
        if row.generation == 0:
            state.missing_ids = want
            out.append(state)
            continue
        state.index, state.problem = load_file(vectors, kind, state.path, entry)
        if state.index is not None:
            have = _ids_of(state.index)
            if have is not None:
                state.missing_ids = np.setdiff1d(want, have)
                state.extra_ids = np.setdiff1d(have, want)
            elif state.index.ntotal != len(want):
                state.problem = f"holds {state.index.ntotal} vectors for {len(want)} rows"
        out.append(state)
    return out


def previous_index(row: LibraryRow, vectors: VectorSet, kind: str) -> VectorIndex | None:
    """The kind's file of the generation before the committed one, if it is still on disk and
    matches its recorded checksum (None otherwise)."""
    record = parse_record(row.vector_files)
    prev = (record or {}).get("previous") or {}
    entry = (prev.get("files") or {}).get(kind)
    if not entry or not entry.get("sha256"):
        return None
    index, problem = load_file(vectors, kind, vectors.root / entry["name"], entry)
    return index if problem is None else None
