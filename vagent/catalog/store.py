"""Opening a catalog database, checking its schema version, and the queries the core needs."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Table, create_engine, delete, event, func, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from vagent import __version__
from vagent.catalog.schema import (
    SCHEMA_VERSION,
    Base,
    FrameRow,
    KvRow,
    LibraryRow,
    Meta,
    SegmentRow,
    VideoRow,
)
from vagent.errors import SchemaMismatch, VagentError

# Columns and tables added after schema v1 without a version bump (older vagents ignore them).
# Missing columns are added on open; opening a catalog for writing creates missing tables, and
# readers treat a missing one as empty.
ADDITIVE_COLUMNS: dict[str, dict[str, str]] = {
    "libraries": {
        "captioner": "VARCHAR(255)",
        "uid": "VARCHAR(32)",
        "vector_files": "TEXT",
        "asr": "VARCHAR(255)",
    },
    "videos": {"sidecars": "VARCHAR(64)", "frames_reused": "INTEGER"},
    "text_spans": {"words": "TEXT", "language": "VARCHAR(16)"},
}
ADDITIVE_TABLES: tuple[Table, ...] = (KvRow.__table__,)  # type: ignore[assignment]


# What SQLite says about a damaged database file (a garbled header, garbled pages).
DAMAGE_WORDS = ("file is not a database", "database disk image is malformed", "malformed")


class CatalogDamaged(VagentError):
    """The catalog database file is damaged; the message names it and what to do."""


def damaged_message(url: str, reason: str) -> str:
    where = make_url(url).database if url.startswith("sqlite") else url
    return (
        f"catalog {where} is damaged ({reason}): restore it from a backup, or index the videos "
        f"into a new library (`vagent check` reports what is still readable)"
    )


def _is_damage(exc: BaseException) -> bool:
    text_ = str(getattr(exc, "orig", None) or exc)
    return isinstance(exc, sqlite3.DatabaseError | DBAPIError) and any(
        w in text_ for w in DAMAGE_WORDS
    )


def _sqlite_pragmas(dbapi_conn: Any, url: str) -> None:
    cur = dbapi_conn.cursor()
    try:
        # WAL: readers search while a writer indexes; a killed writer leaves the last commit
        # intact.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
    except sqlite3.DatabaseError as exc:
        if not _is_damage(exc):
            raise
        raise CatalogDamaged(damaged_message(url, str(exc))) from None
    finally:
        cur.close()


def _manual_transactions(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None


def _begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


class Catalog:
    """A catalog database. ``url`` is any SQLAlchemy URL (``sqlite:///path/catalog.db`` default)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", self._on_connect)
        event.listen(self.engine, "handle_error", self._on_error)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._snap: Engine | None = None
        self._local = threading.local()

    def _on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_conn, self.url)

    def _on_error(self, ctx: Any) -> None:
        """A damaged database file is one line naming it, not chained driver tracebacks."""
        if _is_damage(ctx.original_exception):
            raise CatalogDamaged(damaged_message(self.url, str(ctx.original_exception)))

    def exists(self) -> bool:
        return inspect(self.engine).has_table(Meta.__tablename__)

    def check_schema(self, create: bool) -> bool:
        """Make sure the schema matches this vagent. Returns False if the catalog is empty (or
        still being created by a writer) and ``create`` is False; raises SchemaMismatch if
        another schema version wrote it."""
        version, writer = self._stamp() if self.exists() else (None, None)
        if version is None:
            if not create:
                return False
            # Python's sqlite3 commits each CREATE TABLE on its own, so a reader can see tables
            # before the version row: readers treat that as "not created yet" (above), and the
            # writer (holding the library's write lock) completes an interrupted creation here.
            Base.metadata.create_all(self.engine)
            with self.session() as s:
                s.merge(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
                s.merge(Meta(key="written_by", value=f"vagent {__version__}"))
            return True
        if version != SCHEMA_VERSION:
            by = writer or "an unknown vagent"
            relation = "newer" if version > SCHEMA_VERSION else "older"
            hint = (
                "upgrade vagent to read it"
                if version > SCHEMA_VERSION
                else "re-index into a new library, or install the vagent that wrote it"
            )
            raise SchemaMismatch(
                f"catalog {self.url} has schema v{version} (written by {by}), {relation} than "
                f"this vagent {__version__} (schema v{SCHEMA_VERSION}): {hint}"
            )
        self._add_missing_columns()
        if create:
            self._add_missing_tables()
        return True

    def _add_missing_columns(self) -> None:
        """Columns added to schema v1 after it shipped (nullable, so old rows read as None).
        Readers add them too: an old catalog must stay readable by this vagent."""
        for table, columns in ADDITIVE_COLUMNS.items():
            have = {c["name"] for c in inspect(self.engine).get_columns(table)}
            for name, ddl in columns.items():
                if name in have:
                    continue
                try:
                    with self.engine.begin() as conn:
                        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))
                except (OperationalError, ProgrammingError):
                    # another process added it first
                    if name not in {c["name"] for c in inspect(self.engine).get_columns(table)}:
                        raise

    def _add_missing_tables(self) -> None:
        names = set(inspect(self.engine).get_table_names())
        missing = [t for t in ADDITIVE_TABLES if t.name not in names]
        if missing:
            Base.metadata.create_all(self.engine, tables=missing)

    def quick_check(self) -> None:
        """Before a write: SQLite's quick integrity check of the whole file (damage in pages a
        command would not read otherwise); raises CatalogDamaged. Other databases: nothing."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as conn:
            found = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check(3)")]
        if found != ["ok"]:
            raise CatalogDamaged(damaged_message(self.url, "; ".join(found)))

    def has_table(self, name: str) -> bool:
        return inspect(self.engine).has_table(name)

    def _stamp(self) -> tuple[int | None, str | None]:
        with self._sessions() as s:
            found = s.get(Meta, "schema_version")
            writer = s.get(Meta, "written_by")
        return (int(found.value) if found else None), (writer.value if writer else None)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self._sessions() as s, s.begin():
            yield s

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """One read transaction: every read of this catalog in this thread inside the block
        (``reading()`` and the query methods) sees the same committed state, whatever writers
        commit meanwhile. Nested blocks share the outer one."""
        pinned = getattr(self._local, "session", None)
        if pinned is not None:
            yield pinned
            return
        # ends by a (read-only) commit: a rollback would expire the rows handed out
        with Session(self._snapshot_engine(), expire_on_commit=False) as s, s.begin():
            self._local.session = s
            try:
                yield s
            finally:
                self._local.session = None

    def reading(self) -> AbstractContextManager[Session]:
        """A session to read with: the open snapshot of this thread, else a fresh one."""
        pinned: Session | None = getattr(self._local, "session", None)
        return nullcontext(pinned) if pinned is not None else self._sessions()

    def _snapshot_engine(self) -> Engine:
        if self._snap is None:
            if self.engine.dialect.name == "sqlite":
                # pysqlite runs each SELECT in autocommit: take the snapshot with an explicit
                # BEGIN (WAL: the first read fixes what the whole transaction sees)
                snap = create_engine(self.url, future=True)
                event.listen(snap, "connect", self._on_connect)
                event.listen(snap, "handle_error", self._on_error)
                event.listen(snap, "connect", _manual_transactions)
                event.listen(snap, "begin", _begin)
                self._snap = snap
            else:
                self._snap = self.engine.execution_options(isolation_level="REPEATABLE READ")
        return self._snap

    # ---- queries -------------------------------------------------------------------------

    def library(self, name: str) -> LibraryRow | None:
        with self.reading() as s:
            return s.scalars(select(LibraryRow).where(LibraryRow.name == name)).first()

    def videos(self, library_id: int) -> list[VideoRow]:
        with self.reading() as s:
            q = select(VideoRow).where(VideoRow.library_id == library_id).order_by(VideoRow.path)
            return list(s.scalars(q))

    def counts(self, library_id: int) -> dict[str, int]:
        with self.reading() as s:
            vids = select(VideoRow.id).where(VideoRow.library_id == library_id)
            n_seg = s.scalar(select(func.count(SegmentRow.id)).where(SegmentRow.video_id.in_(vids)))
            n_frm = s.scalar(select(func.count(FrameRow.id)).where(FrameRow.video_id.in_(vids)))
            n_vid = s.scalar(select(func.count()).select_from(vids.subquery()))
        return {"videos": int(n_vid or 0), "segments": int(n_seg or 0), "frames": int(n_frm or 0)}

    def segments_by_id(self, ids: list[int]) -> dict[int, SegmentRow]:
        with self.reading() as s:
            rows = s.scalars(select(SegmentRow).where(SegmentRow.id.in_(ids)))
            return {r.id: r for r in rows}

    def frames_by_id(self, ids: list[int]) -> list[FrameRow]:
        with self.reading() as s:
            return list(s.scalars(select(FrameRow).where(FrameRow.id.in_(ids))))

    def frames_of_segments(self, segment_ids: list[int]) -> list[FrameRow]:
        with self.reading() as s:
            q = select(FrameRow).where(FrameRow.segment_id.in_(segment_ids))
            return list(s.scalars(q))

    def ids_for_videos(self, video_ids: list[int]) -> tuple[list[int], list[int]]:
        """(segment ids, frame ids) belonging to ``video_ids``."""
        with self.reading() as s:
            seg = s.scalars(select(SegmentRow.id).where(SegmentRow.video_id.in_(video_ids)))
            seg_ids = list(seg)
            frm = s.scalars(select(FrameRow.id).where(FrameRow.video_id.in_(video_ids)))
            return seg_ids, list(frm)

    def videos_by_id(self, ids: list[int]) -> dict[int, VideoRow]:
        with self.reading() as s:
            return {v.id: v for v in s.scalars(select(VideoRow).where(VideoRow.id.in_(ids)))}

    def kv_rows(self, segment_ids: list[int], fingerprint: str) -> dict[int, KvRow]:
        """The stored KV caches of ``segment_ids`` made under ``fingerprint``, by segment id."""
        if not self.has_table(KvRow.__tablename__):
            return {}
        with self.reading() as s:
            q = select(KvRow).where(
                KvRow.segment_id.in_(segment_ids), KvRow.fingerprint == fingerprint
            )
            return {r.segment_id: r for r in s.scalars(q)}

    def save_kv_rows(self, rows: list[KvRow]) -> None:
        """Record stored KV caches, replacing rows of the same segment and fingerprint."""
        with self.session() as s:
            for r in rows:
                s.execute(
                    delete(KvRow).where(
                        KvRow.segment_id == r.segment_id, KvRow.fingerprint == r.fingerprint
                    )
                )
                s.add(r)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._snap is not None:
            self._snap.dispose()
