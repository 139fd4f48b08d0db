"""Writing one video (or one removal) as a single unit: catalog rows, vectors, generation."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from vagent.catalog import Catalog, FrameRow, LibraryRow, SegmentRow, TextSpanRow, VideoRow
from vagent.integrity.owner import check_owner, read_marker, write_marker
from vagent.types import SegmentSpan, TextSpan
from vagent.vector_deltas import appendable, fold_due, land_deltas
from vagent.vectors import (
    VectorFilesDamaged,
    VectorSet,
    next_record,
    parse_record,
    sweep,
    tag_of,
)


@dataclass
class NewVideo:
    """Everything needed to land one video: its row fields, frame times and vectors, segments,
    and text spans with their vectors (empty without a text track)."""

    row: dict[str, object]
    times: np.ndarray
    vectors: np.ndarray
    segments: list[SegmentSpan]
    texts: list[TextSpan] = field(default_factory=list)
    text_vectors: np.ndarray | None = None


@dataclass
class NewTexts:
    """An indexed video's text spans of one ``source`` redone (its sidecar subtitles changed):
    the old spans of that source and their vectors go, these come; ``row`` fields are set on the
    video. Frames, segments and other sources are kept."""

    video_id: int
    source: str
    texts: list[TextSpan]
    text_vectors: np.ndarray | None
    row: dict[str, object] = field(default_factory=dict)


# A commit of ``vagent index`` that only adds vectors lands them as deltas (False: every commit
# rewrites every vector file, the old way; a benchmark's comparison, and tests that need whole
# files per generation).
APPEND_DELTAS = True

# The vectors a commit added, per kind: what lands as deltas when nothing was removed.
Added = dict[str, list[tuple[np.ndarray, np.ndarray]]]


def _add(vectors: VectorSet, kind: str, ids: np.ndarray, vecs: np.ndarray, added: Added) -> None:
    index = vectors.indexes[kind]
    index.add(ids, vecs)
    added.setdefault(kind, []).append((ids, np.asarray(vecs, np.float32)))


def segment_vectors(vectors: np.ndarray, spans: list[SegmentSpan]) -> np.ndarray:
    """Mean of each segment's frame vectors, L2-normalised: (len(spans), dim)."""
    dim = vectors.shape[1]
    # a segment without frames (an audio-only file's) gets a zero vector: it never ranks
    # visually (visual search ranks segments by their frames), yet every row has its vector
    means = [vectors[list(s.frames)].mean(axis=0) if s.frames else np.zeros(dim) for s in spans]
    out = np.stack(means).astype(np.float32)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out


def _ids(s: Session, row: type[SegmentRow | FrameRow | TextSpanRow], videos: list[int]) -> Any:
    return np.fromiter(s.scalars(select(row.id).where(row.video_id.in_(videos))), np.int64)


def _delete_videos(s: Session, vectors: VectorSet, video_ids: list[int]) -> None:
    vectors.segments.remove(_ids(s, SegmentRow, video_ids))
    vectors.frames.remove(_ids(s, FrameRow, video_ids))
    if vectors.texts is not None:
        vectors.texts.remove(_ids(s, TextSpanRow, video_ids))
    _delete_rows(s, video_ids)


def _delete_rows(s: Session, video_ids: list[int]) -> None:
    s.execute(delete(TextSpanRow).where(TextSpanRow.video_id.in_(video_ids)))
    s.execute(delete(FrameRow).where(FrameRow.video_id.in_(video_ids)))
    s.execute(delete(SegmentRow).where(SegmentRow.video_id.in_(video_ids)))
    s.execute(delete(VideoRow).where(VideoRow.id.in_(video_ids)))


def _insert_video(
    s: Session, lib: LibraryRow, vectors: VectorSet, new: NewVideo, added: Added
) -> None:
    video = VideoRow(library_id=lib.id, **new.row)
    s.add(video)
    s.flush()
    seg_rows = [
        {"video_id": video.id, "start": sp.start, "end": sp.end, "n_frames": len(sp.frames)}
        for sp in new.segments
    ]
    seg_ids = np.array(
        s.scalars(
            insert(SegmentRow).returning(SegmentRow.id, sort_by_parameter_order=True), seg_rows
        ).all(),
        dtype=np.int64,
    )
    segment_of = np.empty(len(new.times), np.int64)
    for sid, sp in zip(seg_ids, new.segments):
        segment_of[list(sp.frames)] = sid
    frame_rows = [
        {"video_id": video.id, "segment_id": int(sid), "time": float(t)}
        for t, sid in zip(new.times, segment_of)
    ]
    frame_ids = np.array(
        s.scalars(
            insert(FrameRow).returning(FrameRow.id, sort_by_parameter_order=True), frame_rows
        ).all()
        if frame_rows  # an audio-only file has none
        else [],
        dtype=np.int64,
    )
    _add(vectors, "segments", seg_ids, segment_vectors(new.vectors, new.segments), added)
    if len(frame_ids):
        _add(vectors, "frames", frame_ids, new.vectors, added)
    _insert_texts(s, vectors, video.id, new.texts, new.text_vectors, added)


def _insert_texts(
    s: Session,
    vectors: VectorSet,
    video_id: int,
    texts: list[TextSpan],
    text_vectors: np.ndarray | None,
    added: Added,
) -> None:
    if texts and vectors.texts is not None and text_vectors is not None:
        from vagent.text.speech import dump_words

        text_rows = [
            {
                "video_id": video_id,
                "start": t.start,
                "end": t.end,
                "source": t.source,
                "text": t.text,
                # speech spans keep their words' times and language (vagent.text.speech)
                "words": dump_words(w) if (w := getattr(t, "words", ())) else None,
                "language": getattr(t, "language", None),
            }
            for t in texts
        ]
        text_ids = np.array(
            s.scalars(
                insert(TextSpanRow).returning(TextSpanRow.id, sort_by_parameter_order=True),
                text_rows,
            ).all(),
            dtype=np.int64,
        )
        _add(vectors, "texts", text_ids, text_vectors, added)


def _redo_texts(s: Session, vectors: VectorSet, new: NewTexts) -> None:
    mine = (TextSpanRow.video_id == new.video_id) & (TextSpanRow.source == new.source)
    if vectors.texts is not None:
        vectors.texts.remove(np.fromiter(s.scalars(select(TextSpanRow.id).where(mine)), np.int64))
    s.execute(delete(TextSpanRow).where(mine))
    _insert_texts(s, vectors, new.video_id, new.texts, new.text_vectors, {})
    video = s.get(VideoRow, new.video_id)
    assert video is not None
    for k, v in new.row.items():
        setattr(video, k, v)


def land(
    catalog: Catalog,
    library_id: int,
    vectors: VectorSet,
    add: NewVideo | Sequence[NewVideo] | None = None,
    drop: list[int] | None = None,
    retext: NewTexts | None = None,
    append_ok: bool | None = None,
) -> int:
    """Add one video (or several) and/or drop videos by id, and/or redo one source of a
    video's text spans (``retext``), atomically. Returns the new generation.

    The caller holds the library's write lock and ``vectors`` is at the committed generation.
    The vector files are written (named by the library's uid, checksummed) before the catalog
    commit that moves ``generation`` and records them. A commit that only adds (nothing dropped
    or redone) writes the added vectors as delta files (``vagent.vector_deltas``) beside the
    committed base when ``_deltas_fit`` allows (``append_ok``: False never, None as
    ``APPEND_DELTAS`` says); any other commit
    rewrites every vector file, folding the deltas. On any failure the catalog is rolled back
    and ``vectors`` reloaded from the committed files.
    """
    trained = {kind: index.trained for kind, index in vectors.indexes.items()}
    added: Added = {}
    try:
        with catalog.session() as s:
            lib = s.get(LibraryRow, library_id)
            assert lib is not None
            if lib.generation != vectors.generation:
                raise RuntimeError("vector files and catalog disagree; reopen the library")
            if drop:
                _delete_videos(s, vectors, drop)
            for new in [add] if isinstance(add, NewVideo) else add or []:
                _insert_video(s, lib, vectors, new, added)
            if retext is not None:
                _redo_texts(s, vectors, retext)
            ok = APPEND_DELTAS if append_ok is None else append_ok
            only_adds = ok and not drop and retext is None
            files = _deltas_fit(lib, vectors, trained) if only_adds else None
            if files is not None:
                record, tag = _append_generation(catalog, lib, vectors, files, added)
            else:
                record, tag = _write_generation(catalog, lib, vectors)
    except BaseException:
        vectors.load(vectors.generation, vectors.record)
        raise
    _committed(vectors, record)
    sweep(vectors.root, record, tag)
    return vectors.generation


def _deltas_fit(
    lib: LibraryRow, vectors: VectorSet, trained: dict[str, bool | None]
) -> dict[str, dict[str, Any]] | None:
    """The committed generation's file entries when this commit's added vectors can land as
    deltas, else None (rewrite every file): the generation is fully recorded (``appendable``,
    as for live chunks), no index trained or is due to train again on save (a base written
    before would not hold what the whole write does), and no kind's deltas are due to fold."""
    files = appendable(lib, vectors.indexes)
    if files is None:
        return None
    for kind, index in vectors.indexes.items():
        if index.trained != trained[kind] or index.retrain_due or fold_due(files[kind]):
            return None
    return files


def _append_generation(
    catalog: Catalog,
    lib: LibraryRow,
    vectors: VectorSet,
    files: dict[str, dict[str, Any]],
    added: Added,
) -> tuple[dict[str, Any], str | None]:
    """Write ``added`` as one delta per kind beside the committed files and move the row to
    the next generation, which names them (the caller commits the session)."""
    _claim(catalog, lib, vectors)
    joined = {
        kind: (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        for kind, parts in added.items()
    }
    return land_deltas(vectors.root, lib, files, joined, vectors.hint)


def _write_generation(
    catalog: Catalog, lib: LibraryRow, vectors: VectorSet
) -> tuple[dict[str, Any], str | None]:
    """Write ``vectors`` as the library's next generation and move the row to it (the caller
    commits the session). The folder must be this library's (``library.json``)."""
    _claim(catalog, lib, vectors)
    tag = tag_of(lib.uid)
    gen = lib.generation + 1
    files = vectors.write(gen, tag)
    record = next_record(parse_record(lib.vector_files), gen, files)
    lib.generation = gen
    lib.vector_files = json.dumps(record)
    return record, tag


def _claim(catalog: Catalog, lib: LibraryRow, vectors: VectorSet) -> None:
    """Before a generation is written: the folder is this library's (``library.json``, naming
    the owner otherwise) and every row has its vector."""
    if not lib.uid:
        lib.uid = uuid.uuid4().hex  # a library from before files carried their owner's tag
    marker = read_marker(vectors.root)
    if marker is not None and marker["uid"] != lib.uid:
        check_owner(vectors.root, catalog, lib.name, None)  # raises, naming the owner
    write_marker(vectors.root, lib.name, lib.uid, catalog.url)
    _check_counts(_session_of(lib), lib, vectors)


def _session_of(lib: LibraryRow) -> Session:
    s = Session.object_session(lib)
    assert s is not None
    return s


def _check_counts(s: Session, lib: LibraryRow, vectors: VectorSet) -> None:
    """Every row has its vector and no vector lacks a row, by count, before a generation is
    written: damage that slipped past the checksums (or from before them) is never carried
    into the next generation."""
    vids = select(VideoRow.id).where(VideoRow.library_id == lib.id)
    for kind, table in (("segments", SegmentRow), ("frames", FrameRow), ("texts", TextSpanRow)):
        index = vectors.indexes.get(kind)
        if index is None:
            continue
        rows = s.scalar(select(func.count(table.id)).where(table.video_id.in_(vids))) or 0
        if rows != index.ntotal:
            raise VectorFilesDamaged(
                vectors.root / (vectors.names.get(kind) or f"{kind} vectors"),
                f"{kind} vector file does not match the catalog ({rows} rows, "
                f"{index.ntotal} vectors); nothing was written",
                vectors.hint,
            )


def _committed(vectors: VectorSet, record: dict[str, Any]) -> None:
    vectors.generation = record["generation"]
    vectors.record = record
    vectors.names = {k: f["name"] for k, f in record["files"].items()}
    vectors.stale = False


def commit_vectors(
    catalog: Catalog, library_id: int, vectors: VectorSet, drop: list[int] | None = None
) -> int:
    """Write ``vectors`` (rebuilt for the rows as they are, less the videos ``drop``, whose
    rows go in the same commit) as the next generation, under the write lock; returns it.
    Used by repair: the files are made anew from what can be trusted."""
    with catalog.session() as s:
        lib = s.get(LibraryRow, library_id)
        assert lib is not None
        if drop:
            _delete_rows(s, drop)
        record, tag = _write_generation(catalog, lib, vectors)
    _committed(vectors, record)
    sweep(vectors.root, record, tag)
    return vectors.generation
