"""Writing one video (or one removal) as a single unit: catalog rows, vectors, generation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from vagent.catalog import Catalog, FrameRow, LibraryRow, SegmentRow, VideoRow
from vagent.types import SegmentSpan
from vagent.vectors import VectorSet, sweep


@dataclass
class NewVideo:
    """Everything needed to land one video: its row fields, frames, vectors and segments."""

    row: dict[str, object]
    times: np.ndarray
    vectors: np.ndarray
    spans: list[SegmentSpan]


def segment_vectors(vectors: np.ndarray, spans: list[SegmentSpan]) -> np.ndarray:
    """Mean of each segment's frame vectors, L2-normalised: (len(spans), dim)."""
    out = np.stack([vectors[list(s.frames)].mean(axis=0) for s in spans]).astype(np.float32)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out


def _ids_of(s: Session, video_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    seg = s.scalars(select(SegmentRow.id).where(SegmentRow.video_id.in_(video_ids)))
    frm = s.scalars(select(FrameRow.id).where(FrameRow.video_id.in_(video_ids)))
    return np.fromiter(seg, np.int64), np.fromiter(frm, np.int64)


def _delete_videos(s: Session, vectors: VectorSet, video_ids: list[int]) -> None:
    seg_ids, frame_ids = _ids_of(s, video_ids)
    vectors.segments.remove(seg_ids)
    vectors.frames.remove(frame_ids)
    s.execute(delete(FrameRow).where(FrameRow.video_id.in_(video_ids)))
    s.execute(delete(SegmentRow).where(SegmentRow.video_id.in_(video_ids)))
    s.execute(delete(VideoRow).where(VideoRow.id.in_(video_ids)))


def _insert_video(s: Session, lib: LibraryRow, vectors: VectorSet, new: NewVideo) -> None:
    video = VideoRow(library_id=lib.id, **new.row)
    s.add(video)
    s.flush()
    seg_rows = [
        {"video_id": video.id, "start": sp.start, "end": sp.end, "n_frames": len(sp.frames)}
        for sp in new.spans
    ]
    seg_ids = np.array(
        s.scalars(
            insert(SegmentRow).returning(SegmentRow.id, sort_by_parameter_order=True), seg_rows
        ).all(),
        dtype=np.int64,
    )
    segment_of = np.empty(len(new.times), np.int64)
    for sid, sp in zip(seg_ids, new.spans):
        segment_of[list(sp.frames)] = sid
    frame_rows = [
        {"video_id": video.id, "segment_id": int(sid), "time": float(t)}
        for t, sid in zip(new.times, segment_of)
    ]
    frame_ids = np.array(
        s.scalars(
            insert(FrameRow).returning(FrameRow.id, sort_by_parameter_order=True), frame_rows
        ).all(),
        dtype=np.int64,
    )
    vectors.segments.add(seg_ids, segment_vectors(new.vectors, new.spans))
    vectors.frames.add(frame_ids, new.vectors)


def land(
    catalog: Catalog,
    library_id: int,
    vectors: VectorSet,
    add: NewVideo | None = None,
    drop: list[int] | None = None,
) -> int:
    """Add one video and/or drop videos by id, atomically. Returns the new generation.

    The caller holds the library's write lock and ``vectors`` is at the committed generation.
    On any failure the catalog is rolled back and ``vectors`` reloaded from the committed files.
    """
    try:
        with catalog.session() as s:
            lib = s.get(LibraryRow, library_id)
            assert lib is not None
            if lib.generation != vectors.generation:
                raise RuntimeError("vector files and catalog disagree; reopen the library")
            if drop:
                _delete_videos(s, vectors, drop)
            if add is not None:
                _insert_video(s, lib, vectors, add)
            gen = lib.generation + 1
            vectors.write(gen)
            lib.generation = gen
        vectors.generation = gen
    except BaseException:
        vectors.load(vectors.generation)
        raise
    sweep(vectors.root, gen)
    return gen
