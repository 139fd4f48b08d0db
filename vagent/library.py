"""``Library``: the Python API. Open by name or path; index files; search; inspect; remove.

from vagent import Library
lib = Library.open("lectures")          # created on first index
lib.index(["talk.mp4"])
hits = lib.search("a whiteboard", k=5)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from vagent import plugins
from vagent.catalog import Catalog, LibraryRow, VideoRow
from vagent.components import TextEncoder, VisualEncoder
from vagent.errors import DiskFull, EncoderMismatch, LibraryNotFound, VagentError
from vagent.hybrid import DEFAULT_WEIGHTS, MODES, TextState, hybrid_ranking
from vagent.ingest.commit import land
from vagent.ingest.run import IndexRun, Options
from vagent.integrity.owner import (
    MARKER,
    check_new_folder,
    check_owner,
    not_here,
    read_marker,
    repair_hint,
)
from vagent.locking import write_lock
from vagent.matching import match_videos
from vagent.parts import NewParts, build_new_parts, index_parts
from vagent.paths import CATALOG_FILE, LibraryLocation, resolve
from vagent.search import read_consistent, search_vectors, to_hits
from vagent.settings import (
    DEFAULT_ENCODER,
    DEFAULT_FPS,
    DEFAULT_SEGMENT_SECONDS,
    DEFAULT_SEGMENTER,
    check_encoder,
    check_settings,
    check_text_encoder,
    index_id,
    text_sources,
    warn_random,
)
from vagent.storage import describe as storage_failure
from vagent.threads import single_threaded
from vagent.types import Hit, IndexReport
from vagent.validate import (
    AUDIO_STREAM,
    BATCH_SIZE,
    FPS,
    SEGMENT_SECONDS,
    K,
    check_weights,
    clean_text,
)
from vagent.vectors import VectorSet, parse_record, sweep, tag_of

__all__ = ["DEFAULT_ENCODER", "Library"]


class Library:
    """A video library: a catalog (any SQLAlchemy URL) plus vector files in ``root``."""

    def __init__(self, location: LibraryLocation) -> None:
        self.location = location
        self._catalog: Catalog | None = None
        self._encoder: VisualEncoder | None = None
        self._text_encoder: TextEncoder | None = None
        self._vectors: VectorSet | None = None
        self._text_state: tuple[int, TextState] | None = None
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

    def _encoder_for(self, row: LibraryRow, requested: str | None) -> VisualEncoder:
        if self._encoder is not None and requested in (None, self._encoder.id):
            return self._encoder
        enc: VisualEncoder = plugins.registry().create("visual_encoder", requested or row.encoder)
        check_encoder(row, enc)
        self._encoder = enc
        return enc

    def encoder(self) -> VisualEncoder:
        """The visual encoder this library was built with (loaded lazily, checked against it)."""
        return self._encoder_for(self.settings(), None)

    def load_models(self) -> None:
        """Load the query encoders now, so the first search does not pay for it."""
        row = self.settings()
        if row.semantic or not row.text_encoder:  # else hybrid search leaves CLIP out
            self._encoder_for(row, None).load()
        if row.text_encoder:
            self._text_encoder_for(row)

    def _text_encoder_for(self, row: LibraryRow) -> TextEncoder:
        if self._text_encoder is None:
            assert row.text_encoder
            enc: TextEncoder = plugins.registry().create("text_encoder", row.text_encoder)
            enc.load()
            check_text_encoder(row, enc)
            self._text_encoder = enc
        return self._text_encoder

    def _make_vectors(self, row: LibraryRow) -> VectorSet:
        reg = plugins.registry()
        spec = f"{row.index_backend}/{row.index_spec}"
        makers = {
            "segments": lambda: reg.create("index", spec, dim=row.dim),
            "frames": lambda: reg.create("index", spec, dim=row.dim),
        }
        if row.text_encoder:
            makers["texts"] = lambda: reg.create("index", spec, dim=row.text_dim)
        return VectorSet(self.root, makers, hint=repair_hint(self.location))

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
        text: str | None = None,
        text_encoder: str | None = None,
        ocr: str | None = None,
        captioner: str | None = None,
        allow_partial: bool = False,
        batch_size: int = 32,
        progress: bool = True,
        asr: str | None = None,
        audio_stream: int | None = None,
        dedupe: bool = True,
    ) -> IndexReport:
        """Index files and folders. Unchanged files are skipped, moved ones re-pointed, changed
        ones replaced; each bad file is reported (``report.failed``) and the rest go on.

        ``text``: the text track of a new library, comma-separated from subtitles, ocr,
        captions, speech (default "subtitles,ocr,speech"; "none" for frames only); ``captioner``
        describes each segment when captions are on (default hf-vlm); ``asr`` transcribes speech
        (default faster-whisper/tiny.en), pinned per library like the encoders, from the default
        audio stream or the ``audio_stream``-th (0-based, in [0, 63]). ``fps`` is in
        (0, 60], ``segment_seconds`` in [0.5, 3600], ``batch_size`` in [1, 1024] (BadNumber
        otherwise). ``dedupe``: near-duplicate frames (a held slide) reuse the vector of the
        last frame encoded instead of being encoded (a per-run choice, not pinned).

        A new library that ends up holding nothing (every file failed) is not kept. A full disk
        stops the run with :class:`DiskFull`, whose ``report`` says what had landed."""
        fps = None if fps is None else FPS.check(fps)
        if segment_seconds is not None:
            segment_seconds = SEGMENT_SECONDS.check(segment_seconds)
        batch_size = BATCH_SIZE.check_int(batch_size)
        if audio_stream is not None:
            audio_stream = AUDIO_STREAM.check_int(audio_stream)
        reg = plugins.registry()
        fresh: NewParts | None = None
        is_new = not self.exists()
        if is_new:
            # Fail before creating anything: weights we cannot load, a bad index or segmenter.
            check_new_folder(self.root, self.location.db_url, self.name)
            fresh = self._new_parts(encoder, text, text_encoder, ocr, captioner, asr)
            reg.create("index", index_id(index), dim=fresh.encoder.dim)
            reg.create("segmenter", segmenter or DEFAULT_SEGMENTER, seconds=segment_seconds or 1)
        made = [p for p in (self.root, *self.root.parents) if not p.exists()]
        local = self.location.db_url.startswith("sqlite:///")
        new_catalog = local and not self.location.catalog_path.exists()
        run: IndexRun | None = None
        self._made_row = False  # set when this call creates the library row
        try:
            with write_lock(self.root):
                run = self._index_locked(
                    fresh, encoder, fps, segment_seconds, segmenter, index, decoder, text,
                    text_encoder, ocr, captioner, allow_partial, batch_size, progress, asr,
                )  # fmt: skip
                run.opts.audio_stream = audio_stream
                run.opts.dedupe = dedupe
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
        self,
        fresh: NewParts | None,
        encoder: str | None,
        fps: float | None,
        segment_seconds: float | None,
        segmenter: str | None,
        index: str | None,
        decoder: str,
        text: str | None,
        text_encoder: str | None,
        ocr: str | None,
        captioner: str | None,
        allow_partial: bool,
        batch_size: int,
        progress: bool,
        asr: str | None = None,
    ) -> IndexRun:
        """Open or create the library row and set up the run (the caller holds the lock)."""
        reg = plugins.registry()
        cat = self._open_catalog(create=True)
        assert cat is not None
        row = cat.library(self.name)
        check_owner(self.root, cat, self.name, row)
        if row is None:
            fresh = fresh or self._new_parts(encoder, text, text_encoder, ocr, captioner, asr)
            row = self._create(cat, fresh, fps, segment_seconds, segmenter, index)
            self._made_row = True
        else:
            asked = {
                "fps": fps,
                "segment-seconds": segment_seconds,
                "segmenter": segmenter,
                "index": index,
                "text-encoder": text_encoder,
                "ocr": ocr,
                "captioner": captioner,
                "text": None if text is None else text_sources(text),
                # the recogniser's id as it names itself (faster-whisper -> .../tiny.en)
                "asr": reg.create("asr", asr).id if asr else None,
            }
            check_settings(row, asked)
        enc = self._encoder_for(row, encoder)
        enc.load()
        if not row.semantic:
            warn_random(row)
        vectors = self._make_vectors(row)
        vectors.load(row.generation, row.vector_files)
        sweep(self.root, parse_record(row.vector_files), tag_of(row.uid))
        parts = index_parts(
            row,
            fresh,
            decoder=reg.create("decoder", decoder),
            encoder=enc,
            text_encoder=self._text_encoder_for(row) if row.text_encoder else None,
        )
        opts = Options(row.sample_fps, batch_size, allow_partial, progress, row.segment_seconds)
        self._vectors = vectors
        return IndexRun(cat, row.id, vectors, parts, opts)

    def _forget_if_empty(self, made: list[Path], new_catalog: bool) -> None:
        """Drop a library this run created when nothing landed in it: its row, the catalog file
        when the run made it, and the folders the run made. Touches nothing it did not make
        (another process may be creating the same library)."""
        if not self._made_row:
            for folder in made:  # only folders this run made and nobody filled
                try:
                    folder.rmdir()
                except OSError:
                    break
            return
        cat = self._catalog
        uid = None
        if cat is not None:
            try:
                with cat.session() as s:
                    q = select(LibraryRow).where(LibraryRow.name == self.name)
                    row = s.scalars(q).first()
                    if row is not None and row.generation > 0:
                        return
                    if row is not None:
                        uid = row.uid
                        s.delete(row)
            except Exception:
                return  # cannot tell (or cannot write): keep what is there
        marker = read_marker(self.root)
        if uid and marker and marker.get("uid") == uid:
            (self.root / MARKER).unlink(missing_ok=True)
        self.close()
        self._vectors = None
        if new_catalog:
            for suffix in ("", "-wal", "-shm", "-journal"):
                (self.root / f"{CATALOG_FILE}{suffix}").unlink(missing_ok=True)
        if not made:
            return
        (self.root / ".write.lock").unlink(missing_ok=True)
        for folder in made:  # deepest first; a folder someone else filled meanwhile stays
            try:
                folder.rmdir()
            except OSError:
                return

    def _new_parts(
        self,
        encoder: str | None,
        text: str | None,
        text_encoder: str | None,
        ocr: str | None,
        captioner: str | None,
        asr: str | None = None,
    ) -> NewParts:
        parts = build_new_parts(encoder, text, text_encoder, ocr, captioner, asr)
        self._encoder, self._text_encoder = parts.encoder, parts.text_encoder
        return parts

    def _create(
        self,
        cat: Catalog,
        parts: NewParts,
        fps: float | None,
        segment_seconds: float | None,
        segmenter: str | None,
        index: str | None,
    ) -> LibraryRow:
        enc, tenc = parts.encoder, parts.text_encoder
        backend, _, spec = index_id(index).partition("/")
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
            text_sources=parts.sources,
            ocr=parts.ocr,
            captioner=parts.captioner,
            asr=parts.asr,
            text_encoder=tenc.id if tenc else None,
            text_space=tenc.embedding_space if tenc else None,
            text_dim=tenc.dim if tenc else None,
        )
        with cat.session() as s:
            s.add(row)
        return row

    # ---- search ----------------------------------------------------------------------------

    def _reader_vectors(self, row: LibraryRow) -> VectorSet:
        """The vectors of ``row``'s generation (``row`` read in the caller's catalog snapshot,
        see ``read_consistent``), loaded when they are not the ones held."""
        if self._vectors is None:
            self._vectors = self._make_vectors(row)
            self._vectors.generation = -1
        if self._vectors.generation != row.generation:
            self._vectors.load(row.generation, row.vector_files)
        return self._vectors

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
        if not query or not query.strip():
            raise ValueError("the query is empty: say what to look for")
        k = K.check_int(k)
        check_weights(weights, tuple(DEFAULT_WEIGHTS))
        query = clean_text(query)
        row = self.settings()
        mode = mode or ("hybrid" if row.text_encoder else "visual")
        if mode not in MODES:
            raise ValueError(f"unknown search mode '{mode}'; use one of {', '.join(MODES)}")
        if mode != "visual" and not row.text_encoder:
            raise VagentError(
                f"library '{self.name}' has no text track (it was indexed with --text none); "
                f"search it with --mode visual"
            )
        # a random-weight visual channel is left out of text/hybrid search: don't load CLIP for it
        needs_visual = mode == "visual" or row.semantic or encoder is not None
        enc = self._encoder_for(row, encoder) if needs_visual else None
        return read_consistent(
            self.catalog,
            self.name,
            repair_hint(self.location),
            lambda current: self._search_in(current, enc, query, k, video, mode, weights),
        )

    def _search_in(
        self,
        row: LibraryRow,
        enc: VisualEncoder | None,
        query: str,
        k: int,
        video: str | Sequence[str] | None,
        mode: str,
        weights: dict[str, float] | None,
    ) -> list[Hit]:
        """One search inside one catalog snapshot (``row``: the library as of it)."""
        vectors = self._reader_vectors(row)
        allowed, videos = None, None
        if video is not None:
            ids = self._match_videos([video] if isinstance(video, str) else list(video))
            seg_ids, frame_ids = self.catalog.ids_for_videos(ids)
            allowed = (np.array(seg_ids, np.int64), np.array(frame_ids, np.int64))
            videos = set(ids)
        qv = None
        if enc is not None:
            with single_threaded():
                qv = enc.encode_texts([query])
            if qv.shape[1] != row.dim:
                raise EncoderMismatch(
                    f"{enc.id} gave {qv.shape[1]}-d vectors; library is {row.dim}-d"
                )
        if mode == "visual":
            assert qv is not None
            hits = search_vectors(self.catalog, vectors, qv[0], k, allowed)
        else:
            w = {**DEFAULT_WEIGHTS, **(weights or {})}
            if not row.semantic:
                w["visual"] = 0.0
            with single_threaded():
                tq = self._text_encoder_for(row).encode([query])[0]
            ranked = hybrid_ranking(
                self.catalog,
                vectors,
                self._state(row, vectors),
                query,
                None if qv is None else qv[0],
                tq,
                k,
                mode,
                w,
                allowed,
                videos,
                row.semantic,
            )
            hits = to_hits(self.catalog, ranked)
        if not row.semantic:
            warn_random(row, hybrid=mode == "hybrid")
            for h in hits:
                h.extra["semantic"] = False
        return hits

    def _state(self, row: LibraryRow, vectors: VectorSet) -> TextState:
        """Text spans, lexical index and segment table of the loaded generation (cached)."""
        if self._text_state is None or self._text_state[0] != vectors.generation:
            self._text_state = (vectors.generation, TextState.load(self.catalog, row.id))
        return self._text_state[1]

    def _match_videos(self, names: list[str], unique: bool = False) -> list[int]:
        videos = self.catalog.videos(self.settings().id)
        return match_videos(videos, names, self.name, unique=unique)

    # ---- inspect / remove ------------------------------------------------------------------

    def videos(self) -> list[VideoRow]:
        return self.catalog.videos(self.settings().id)

    def info(self) -> dict[str, Any]:
        """Settings, contents and sizes (what ``vagent info`` prints)."""
        from vagent.info import library_info

        return read_consistent(
            self.catalog,
            self.name,
            repair_hint(self.location),
            lambda row: library_info(self, row, self._reader_vectors(row)),
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
