"""``Library``: the Python API. Open by name or path; index files; search; inspect; remove.

from vagent import Library
lib = Library.open("lectures")          # created on first index
lib.index(["talk.mp4"])
hits = lib.search("a whiteboard", k=5)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from vagent import plugins
from vagent.catalog import Catalog, LibraryRow, VideoRow
from vagent.components import VisualEncoder
from vagent.errors import EncoderMismatch, LibraryNotFound, VagentError
from vagent.ingest.commit import land
from vagent.ingest.run import IndexRun, Options, Parts
from vagent.locking import write_lock
from vagent.paths import LibraryLocation, resolve
from vagent.search import search_vectors
from vagent.types import Hit, IndexReport
from vagent.vectors import VectorSet, sweep

DEFAULT_ENCODER = "openclip/ViT-B-32/laion2b_s34b_b79k"
DEFAULT_INDEX = "faiss/Flat"
DEFAULT_SEGMENTER = "fixed"
DEFAULT_FPS = 1.0
DEFAULT_SEGMENT_SECONDS = 10.0


class Library:
    """A video library: a catalog (any SQLAlchemy URL) plus vector files in ``root``."""

    def __init__(self, location: LibraryLocation) -> None:
        self.location = location
        self._catalog: Catalog | None = None
        self._encoder: VisualEncoder | None = None
        self._vectors: VectorSet | None = None

    @classmethod
    def open(cls, library: str | os.PathLike[str], *, db: str | None = None) -> Library:
        """``library``: a name under $VAGENT_HOME (default ./indexes) or a folder path.
        ``db``: a SQLAlchemy URL for the catalog (default: SQLite inside the folder)."""
        return cls(resolve(library, db))

    @property
    def name(self) -> str:
        return self.location.name

    @property
    def root(self) -> Path:
        return self.location.root

    def __repr__(self) -> str:
        return f"Library({self.name!r}, root={str(self.root)!r})"

    # ---- catalog ---------------------------------------------------------------------------

    def _open_catalog(self, create: bool) -> Catalog | None:
        if self._catalog is not None:
            return self._catalog
        is_sqlite_file = self.location.db_url.startswith("sqlite:///")
        if is_sqlite_file and not self.location.catalog_path.exists():
            if not create:
                return None
            self.root.mkdir(parents=True, exist_ok=True)
        cat = Catalog(self.location.db_url)
        if not cat.check_schema(create):
            cat.dispose()
            return None
        self._catalog = cat
        return cat

    def exists(self) -> bool:
        cat = self._open_catalog(create=False)
        return cat is not None and cat.library(self.name) is not None

    def settings(self) -> LibraryRow:
        """The library's pinned settings (encoder, index, sampling). Raises LibraryNotFound."""
        cat = self._open_catalog(create=False)
        row = cat.library(self.name) if cat else None
        if row is None:
            raise LibraryNotFound(
                f"no library '{self.name}' at {self.root}: index videos first with "
                f"`vagent index PATHS --library {self.name}`"
            )
        return row

    @property
    def catalog(self) -> Catalog:
        self.settings()
        assert self._catalog is not None
        return self._catalog

    # ---- components ------------------------------------------------------------------------

    def _encoder_for(self, row: LibraryRow, requested: str | None) -> VisualEncoder:
        if self._encoder is not None and requested in (None, self._encoder.id):
            return self._encoder
        enc: VisualEncoder = plugins.registry().create("visual_encoder", requested or row.encoder)
        check_encoder(row, enc)
        self._encoder = enc
        return enc

    def _make_vectors(self, row: LibraryRow) -> VectorSet:
        reg = plugins.registry()
        index_id = f"{row.index_backend}/{row.index_spec}"
        return VectorSet(self.root, lambda: reg.create("index", index_id, dim=row.dim))

    # ---- index -----------------------------------------------------------------------------

    def index(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        encoder: str | None = None,
        fps: float | None = None,
        segment_seconds: float | None = None,
        segmenter: str | None = None,
        index: str | None = None,
        decoder: str = "pyav",
        allow_partial: bool = False,
        batch_size: int = 32,
        progress: bool = True,
    ) -> IndexReport:
        """Index files and folders. Unchanged files are skipped, moved ones re-pointed, changed
        ones replaced; each bad file is reported (``report.failed``) and the rest go on."""
        reg = plugins.registry()
        fresh: VisualEncoder | None = None
        if not self.exists():
            # Fail before creating anything: weights we cannot load, a bad index or segmenter.
            fresh = reg.create("visual_encoder", encoder or DEFAULT_ENCODER)
            fresh.load()
            reg.create("index", _index_id(index), dim=fresh.dim)
            reg.create("segmenter", segmenter or DEFAULT_SEGMENTER, seconds=segment_seconds or 1)
        with write_lock(self.root):
            cat = self._open_catalog(create=True)
            assert cat is not None
            row = cat.library(self.name)
            if row is None:
                enc = fresh or reg.create("visual_encoder", encoder or DEFAULT_ENCODER)
                enc.load()
                row = self._create(cat, enc, fps, segment_seconds, segmenter, index)
            else:
                check_settings(row, fps, segment_seconds, segmenter, index)
                enc = self._encoder_for(row, encoder)
                enc.load()
            self._encoder = enc
            if not row.semantic:
                warn_random(row)
            vectors = self._make_vectors(row)
            vectors.load(row.generation)
            sweep(self.root, row.generation)
            parts = Parts(
                decoder=reg.create("decoder", decoder),
                encoder=enc,
                segmenter=reg.create("segmenter", row.segmenter, seconds=row.segment_seconds),
            )
            opts = Options(row.sample_fps, batch_size, allow_partial, progress)
            strs = [os.fspath(p) for p in paths]
            report = IndexRun(cat, row.id, vectors, parts, opts).run(strs)
            self._vectors = vectors
            return report

    def _create(
        self,
        cat: Catalog,
        enc: VisualEncoder,
        fps: float | None,
        segment_seconds: float | None,
        segmenter: str | None,
        index: str | None,
    ) -> LibraryRow:
        backend, _, spec = _index_id(index).partition("/")
        seg = segmenter or DEFAULT_SEGMENTER
        seconds = segment_seconds or DEFAULT_SEGMENT_SECONDS
        row = LibraryRow(
            name=self.name,
            encoder=enc.id,
            embedding_space=enc.embedding_space,
            dim=enc.dim,
            semantic=enc.semantic,
            index_backend=backend,
            index_spec=spec,
            segmenter=seg,
            segment_seconds=seconds,
            sample_fps=fps or DEFAULT_FPS,
            generation=0,
        )
        with cat.session() as s:
            s.add(row)
        return row

    # ---- search ----------------------------------------------------------------------------

    def _reader_vectors(self, row: LibraryRow) -> VectorSet:
        """The vectors of the committed generation, reloaded when a writer has moved on."""
        cat = self.catalog
        if self._vectors is None:
            self._vectors = self._make_vectors(row)
            self._vectors.generation = -1
        for _ in range(5):
            current = cat.library(self.name)
            assert current is not None
            if self._vectors.generation == current.generation:
                return self._vectors
            try:
                self._vectors.load(current.generation)
                return self._vectors
            except FileNotFoundError:
                continue  # a writer swept it between our read and our load: read again
        raise VagentError(f"library '{self.name}': vector files keep changing; try again")

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        video: str | Sequence[str] | None = None,
        encoder: str | None = None,
    ) -> list[Hit]:
        """The ``k`` moments best matching ``query``, best first. ``video`` restricts to files
        (full paths, or names matched against the end of the path)."""
        if not query or not query.strip():
            raise ValueError("the query is empty: say what to look for")
        row = self.settings()
        enc = self._encoder_for(row, encoder)
        vectors = self._reader_vectors(row)
        allowed = None
        if video is not None:
            ids = self._match_videos([video] if isinstance(video, str) else list(video))
            seg_ids, frame_ids = self.catalog.ids_for_videos(ids)
            allowed = (np.array(seg_ids, np.int64), np.array(frame_ids, np.int64))
        qv = enc.encode_texts([query])
        if qv.shape[1] != row.dim:
            raise EncoderMismatch(f"{enc.id} gave {qv.shape[1]}-d vectors; library is {row.dim}-d")
        hits = search_vectors(self.catalog, vectors, qv[0], k, allowed)
        if not row.semantic:
            warn_random(row)
            for h in hits:
                h.extra["semantic"] = False
        return hits

    def _match_videos(self, names: list[str]) -> list[int]:
        videos = self.catalog.videos(self.settings().id)
        ids = []
        for name in names:
            full = str(Path(name).expanduser().resolve())
            found = [v.id for v in videos if v.path == full or v.path.endswith(os.sep + name)]
            if not found:
                raise VagentError(
                    f"no video matching '{name}' in library '{self.name}'; "
                    f"`vagent info --library {self.name}` lists them"
                )
            ids.extend(found)
        return ids

    # ---- inspect / remove ------------------------------------------------------------------

    def videos(self) -> list[VideoRow]:
        return self.catalog.videos(self.settings().id)

    def info(self) -> dict[str, Any]:
        row = self.settings()
        vectors = self._reader_vectors(row)
        counts = self.catalog.counts(row.id)
        videos = self.videos()
        catalog_bytes = (
            self.location.catalog_path.stat().st_size
            if self.location.catalog_path.exists()
            else None
        )
        index_extra = {}
        if hasattr(vectors.frames, "staging"):
            index_extra["trained"] = not vectors.frames.staging
        return {
            "name": row.name,
            "root": str(self.root),
            "catalog": _safe_url(self.location.db_url),
            "encoder": row.encoder,
            "embedding_space": row.embedding_space,
            "dim": row.dim,
            "semantic": row.semantic,
            "index": {"backend": row.index_backend, "spec": row.index_spec, **index_extra},
            "segmenter": row.segmenter,
            "segment_seconds": row.segment_seconds,
            "sample_fps": row.sample_fps,
            "generation": row.generation,
            **counts,
            "video_seconds": round(sum(v.duration for v in videos), 3),
            "bytes": {"catalog": catalog_bytes, "vectors": vectors.bytes_on_disk()},
            "videos": [
                {
                    "path": v.path,
                    "duration": round(v.duration, 3),
                    "resolution": f"{v.width}x{v.height}",
                    "codec": v.codec,
                    "frames": v.sampled_frames,
                    "missing": not Path(v.path).exists(),
                }
                for v in videos
            ],
        }

    def remove(self, paths: Sequence[str | os.PathLike[str]]) -> list[str]:
        """Drop videos (by path or file name) with their rows and vectors; returns their paths."""
        row = self.settings()
        with write_lock(self.root):
            ids = self._match_videos([os.fspath(p) for p in paths])
            with self.catalog.session() as s:
                removed = list(s.scalars(select(VideoRow.path).where(VideoRow.id.in_(ids))))
            vectors = self._make_vectors(row)
            vectors.load(self.catalog.library(self.name).generation)  # type: ignore[union-attr]
            land(self.catalog, row.id, vectors, drop=ids)
            self._vectors = vectors
        return removed

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.dispose()
            self._catalog = None


def _index_id(index: str | None) -> str:
    backend, _, spec = (index or DEFAULT_INDEX).partition("/")
    return f"{backend}/{spec or 'Flat'}"


def check_encoder(row: LibraryRow, enc: VisualEncoder) -> None:
    if enc.embedding_space != row.embedding_space or enc.dim != row.dim:
        raise EncoderMismatch(
            f"library '{row.name}' was built with {row.encoder} ({row.dim}-d vectors, space "
            f"{row.embedding_space}); {enc.id} gives {enc.dim}-d vectors in space "
            f"{enc.embedding_space}. Use --encoder {row.encoder}, or index into a new library."
        )


def check_settings(
    row: LibraryRow,
    fps: float | None,
    segment_seconds: float | None,
    segmenter: str | None,
    index: str | None,
) -> None:
    asked = {
        "fps": (fps, row.sample_fps),
        "segment-seconds": (segment_seconds, row.segment_seconds),
        "segmenter": (segmenter, row.segmenter),
        "index": (index, f"{row.index_backend}/{row.index_spec}"),
    }
    for name, (want, have) in asked.items():
        if want is not None and want != have:
            raise VagentError(
                f"library '{row.name}' uses --{name} {have}; asked for {want}. "
                f"Omit it to use the library's setting, or index into a new library."
            )


def warn_random(row: LibraryRow) -> None:
    print(
        f"warning: library '{row.name}' was built with random-weight encoder {row.encoder}: "
        f"its results are not semantic (throughput and plumbing tests only)",
        file=sys.stderr,
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
