"""``Library``: the Python API. Open by name or path; index files; search; inspect; remove.

from vagent import Library
lib = Library.open("lectures")          # created on first index
lib.index(["talk.mp4"])
hits = lib.search("a whiteboard", k=5)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vagent.catalog import Catalog, LibraryRow, VideoRow
from vagent.components import Decoder, TextEncoder, VisualEncoder
from vagent.errors import DiskFull, LibraryNotFound
from vagent.ingest.commit import land
from vagent.ingest.run import IndexRun
from vagent.integrity.owner import check_new_folder, check_owner, not_here, repair_hint
from vagent.library.build import Builder, check_encoder, check_text_encoder, decoder_named
from vagent.library.indexing import forget_if_empty, new_builder, open_run
from vagent.library.info import library_info
from vagent.library.matching import match_videos
from vagent.library.notices import warn_random
from vagent.library.spec import LibrarySpec
from vagent.locking import write_lock
from vagent.paths import LibraryLocation, resolve
from vagent.search.query import Reader, search
from vagent.search.read import read_consistent
from vagent.search.text import TextState
from vagent.storage import describe as storage_failure
from vagent.types import Hit, IndexReport
from vagent.vectors import VectorSet

__all__ = ["Library"]


class Library:
    """A video library: a catalog (any SQLAlchemy URL) plus vector files in ``root``."""

    def __init__(self, location: LibraryLocation) -> None:
        self.location = location
        self._catalog: Catalog | None = None
        self._built: Builder | None = None  # the components, built from the library's spec
        self._decoders: dict[str | None, Decoder] = {}
        self._vectors: VectorSet | None = None
        self._text_state: tuple[int, TextState] | None = None
        self._search_reader: Reader | None = None  # built on the first search
        self._made_row = False

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
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # user content: owner only
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
                not_here(self.root, self.name)
                or f"no library '{self.name}' at {self.root}: index videos first with "
                f"`vagent index PATHS --library {self.name}`"
            )
        return row

    @property
    def catalog(self) -> Catalog:
        self.settings()
        assert self._catalog is not None
        return self._catalog

    # ---- components ------------------------------------------------------------------------

    def spec(self) -> LibrarySpec:
        """The settings the library is pinned to. Raises LibraryNotFound."""
        return LibrarySpec.of_row(self.settings())

    def _use(self, spec: LibrarySpec) -> Builder:
        """The builder of ``spec``, keeping the components already built that it names too."""
        if self._built is None or self._built.spec != spec:
            self._built = Builder(spec, reuse=self._built)
        return self._built

    def components(self, encoder: str | None = None) -> Builder:
        """The builder of this library's components (``encoder``: query with another encoder
        of the same embedding space). The agent and the benchmarks take theirs from it."""
        spec = self.spec()
        return self._use(replace(spec, encoder=encoder) if encoder else spec)

    def _encoder_for(self, row: LibraryRow, requested: str | None) -> VisualEncoder:
        spec = LibrarySpec.of_row(row)
        enc = self._use(replace(spec, encoder=requested) if requested else spec).encoder()
        check_encoder(row, enc)
        return enc

    def encoder(self) -> VisualEncoder:
        """The visual encoder this library was built with (loaded lazily, checked against it)."""
        return self._encoder_for(self.settings(), None)

    def decoder(self, video: VideoRow | None = None) -> Decoder:
        """The decoder that decodes this library's frames again: the one ``video`` was indexed
        with (its ``decode_strategy``), else (no video, an audio-only or live item, a decoder
        no longer installed) the default one."""
        recorded = None
        if video is not None and video.decode_strategy not in ("audio", "live"):
            recorded = video.decode_strategy
        if recorded not in self._decoders:
            self._decoders[recorded] = decoder_named(recorded)
        return self._decoders[recorded]

    def load_models(self) -> None:
        """Load the query encoders now, so the first search does not pay for it."""
        row = self.settings()
        if row.semantic or not row.text_encoder:  # else hybrid search leaves CLIP out
            self._encoder_for(row, None).load()
        if row.text_encoder:
            self._text_encoder_for(row)

    def _text_encoder_for(self, row: LibraryRow) -> TextEncoder:
        enc = self._use(LibrarySpec.of_row(row)).text_encoder()
        assert enc is not None, "a library with a text track has a text encoder"
        check_text_encoder(row, enc)
        return enc

    def _make_vectors(self, row: LibraryRow) -> VectorSet:
        return self._use(LibrarySpec.of_row(row)).vectors(
            self.root, row, repair_hint(self.location)
        )

    # ---- index -----------------------------------------------------------------------------

    def index(
        self,
        paths: Sequence[str | os.PathLike[str]],
        spec: LibrarySpec | None = None,
        *,
        progress: bool = True,
        encoder: str | None = None,
        fps: float | None = None,
        segment_seconds: float | None = None,
        segmenter: str | None = None,
        index: str | None = None,
        decoder: str | None = None,
        text: str | None = None,
        text_encoder: str | None = None,
        ocr: str | None = None,
        captioner: str | None = None,
        allow_partial: bool | None = None,
        batch_size: int | None = None,
        asr: str | None = None,
        audio_stream: int | None = None,
        dedupe: bool | None = None,
        ray: str | None = None,
        before_file: Callable[[str, IndexReport], bool] | None = None,
    ) -> IndexReport:
        """Index files and folders. Unchanged files are skipped, moved ones re-pointed, changed
        ones replaced; each bad file is reported (``report.failed``) and the rest go on.

        The settings are a :class:`~vagent.library.spec.LibrarySpec` (``spec``), or its fields
        as keyword arguments (which override the spec's): what is not given is the library's
        (a new library: the default). ``text``: the text track of a new library,
        comma-separated from subtitles, ocr, captions, speech (default "subtitles,ocr,speech";
        "none" for frames only); ``captioner`` describes each segment when captions are on
        (default hf-vlm); ``asr`` transcribes speech (default faster-whisper/tiny.en), pinned
        per library like the encoders, from the default audio stream or the
        ``audio_stream``-th (0-based, in [0, 63]). ``fps`` is in (0, 60], ``segment_seconds``
        in [0.5, 3600], ``batch_size`` in [1, 1024] (BadNumber otherwise). ``dedupe``:
        near-duplicate frames (a held slide) reuse the vector of the last frame encoded
        instead of being encoded (a per-run choice, not pinned). ``ray``: "auto" or "host:port"
        of a Ray cluster that does the per-file work (every node reads the files by path).
        ``before_file(path, report_so_far)`` is called before each file of a local run;
        returning False stops the run there (what landed stays; the rest is not read).

        A new library that ends up holding nothing (every file failed) is not kept. A full disk
        stops the run with :class:`DiskFull`, whose ``report`` says what had landed."""
        given: dict[str, Any] = {
            "encoder": encoder, "fps": fps, "segment_seconds": segment_seconds,
            "segmenter": segmenter, "index": index, "decoder": decoder, "text": text,
            "text_encoder": text_encoder, "ocr": ocr, "captioner": captioner,
            "allow_partial": allow_partial, "batch_size": batch_size, "asr": asr,
            "audio_stream": audio_stream, "dedupe": dedupe, "ray": ray,
        }  # fmt: skip
        asked = replace(spec or LibrarySpec(), **{k: v for k, v in given.items() if v is not None})
        fresh: Builder | None = None
        if not self.exists():
            # Fail before creating anything: weights we cannot load, a bad index or segmenter.
            check_new_folder(self.root, self.location.db_url, self.name)
            fresh = new_builder(asked)
        made = [p for p in (self.root, *self.root.parents) if not p.exists()]
        local = self.location.db_url.startswith("sqlite:///")
        new_catalog = local and not self.location.catalog_path.exists()
        run: IndexRun | None = None
        self._made_row = False  # set when this call creates the library row
        try:
            with write_lock(self.root):
                run = self._index_locked(asked, fresh, progress)
                if before_file is not None:
                    run.before_file = before_file
                report = run.run([os.fspath(p) for p in paths])
        except BaseException as exc:
            self._forget_if_empty(made, new_catalog)
            what = storage_failure(exc, self.root) if isinstance(exc, Exception) else None
            if what is None:
                raise
            raise DiskFull(f"library '{self.name}': {what}", run.report if run else None) from None
        if not report.indexed:
            self._forget_if_empty(made, new_catalog)
        return report

    def _index_locked(
        self, asked: LibrarySpec, fresh: Builder | None = None, progress: bool = False
    ) -> IndexRun:
        """Open or create the library row and set up the run (the caller holds the lock)."""
        cat = self._open_catalog(create=True)
        assert cat is not None
        opened = open_run(cat, self.location, asked, fresh, self._built, progress)
        self._made_row = self._made_row or opened.made_row
        self._built = opened.builder
        self._vectors = opened.run.vectors
        return opened.run

    def _forget_if_empty(self, made: list[Path], new_catalog: bool) -> None:
        def close() -> None:
            self.close()
            self._vectors = None

        forget_if_empty(self.location, self._catalog, made, new_catalog, self._made_row, close)

    # ---- search ----------------------------------------------------------------------------

    def _reader_vectors(self, row: LibraryRow) -> VectorSet:
        """The vectors of ``row``'s generation (``row`` read in the caller's catalog snapshot,
        see ``read_consistent``), loaded when they are not the ones held.

        Searches may run in several threads at once: a generation is loaded into a new
        ``VectorSet``, never into the one held (a search still reading it keeps its own
        generation), which is then replaced unless it is newer (an older snapshot's set is
        that search's alone)."""
        held = self._vectors
        if held is not None and held.generation == row.generation:
            return held
        fresh = self._make_vectors(row)
        fresh.load(row.generation, row.vector_files)
        if held is None or held.generation < row.generation:
            self._vectors = fresh
        return fresh

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        video: str | Sequence[str] | None = None,
        encoder: str | None = None,
        mode: str | None = None,
        weights: dict[str, float] | None = None,
    ) -> list[Hit]:
        """The ``k`` moments best matching ``query``, best first.

        ``video`` restricts to files (full paths, or names matched against the end of the path).
        ``mode``: visual (CLIP only), text (subtitles/OCR: dense + lexical), hybrid (all three,
        fused); default hybrid when the library has a text track, else visual. ``weights`` sets
        each channel's weight in the fusion (visual, text, lexical; default 1 each; the visual
        channel is left out of hybrid search when its encoder has random weights).
        ``k`` is in [1, 1000] and each weight in [0, 100] (BadNumber otherwise); bytes of
        ``query`` that are not UTF-8 are replaced (U+FFFD).
        """
        return search(
            self._reader(), query, k, video=video, encoder=encoder, mode=mode, weights=weights
        )

    def _reader(self) -> Reader:
        """What a search reads of this library: its catalog, its query encoders (built once),
        the vectors and text state of a generation (held for the next search). Built once:
        a search reads the library's row once, in its snapshot."""
        reader = self._search_reader
        if reader is None:
            reader = self._search_reader = Reader(
                name=self.name,
                hint=repair_hint(self.location),
                settings=self.settings,
                catalog=self._search_catalog,
                visual_encoder=self._encoder_for,
                text_encoder=self._text_encoder_for,
                vectors=self._reader_vectors,
                text_state=self._state,
                match_videos=self._match_videos,
                warn_random=warn_random,
            )
        return reader

    def _search_catalog(self) -> Catalog:
        """The open catalog without reading the library's row (the search reads it in its
        snapshot); not open yet: as ``catalog`` (LibraryNotFound when there is none)."""
        return self._catalog if self._catalog is not None else self.catalog

    def _state(self, row: LibraryRow, vectors: VectorSet) -> TextState:
        """Text spans, lexical index and segment table of the loaded generation (cached)."""
        held = self._text_state  # read once: another search may replace it meanwhile
        if held is None or held[0] != vectors.generation:
            held = (vectors.generation, TextState.load(self.catalog, row.id))
            self._text_state = held
        return held[1]

    def _match_videos(self, names: list[str], unique: bool = False) -> list[int]:
        videos = self.catalog.videos(self.settings().id)
        return match_videos(videos, names, self.name, unique=unique)

    # ---- inspect / remove ------------------------------------------------------------------

    def videos(self) -> list[VideoRow]:
        return self.catalog.videos(self.settings().id)

    def info(self) -> dict[str, Any]:
        """Settings, contents and sizes (what ``vagent info`` prints)."""
        return read_consistent(
            self.catalog,
            self.name,
            repair_hint(self.location),
            lambda row: library_info(self.catalog, self.location, row, self._reader_vectors(row)),
        )

    def remove(self, paths: Sequence[str | os.PathLike[str]]) -> list[str]:
        """Drop videos (by path or file name) with their rows and vectors; returns their paths.
        A file name that several videos end with is refused (name more of the path)."""
        row = self.settings()
        with write_lock(self.root):
            ids = self._match_videos([os.fspath(p) for p in paths], unique=True)
            with self.catalog.session() as s:
                removed = list(s.scalars(select(VideoRow.path).where(VideoRow.id.in_(ids))))
            current = self.catalog.library(self.name)
            assert current is not None
            check_owner(self.root, self.catalog, self.name, current)
            vectors = self._make_vectors(row)
            vectors.load(current.generation, current.vector_files)
            land(self.catalog, row.id, vectors, drop=ids)
            self._vectors = vectors
        return removed

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.dispose()
            self._catalog = None
