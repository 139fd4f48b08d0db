"""Visual search: query vector -> top segments (segment index) and top frames (frame index),
merged, then every candidate segment is rescored by its best frame. Also the pieces hybrid
search reuses: best frames of given segments, and turning ranked segments into hits."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from vagent.catalog import Catalog, LibraryRow
from vagent.errors import LibraryNotFound, VagentError, VagentWarning
from vagent.types import Hit
from vagent.vectors import VectorFilesDamaged, VectorSet, parse_record

T = TypeVar("T")
# Snapshots tried when a writer sweeps the files of the generation just read (it takes two
# commits during one read); each try sees a newer generation.
READ_ATTEMPTS = 8


def read_consistent(catalog: Catalog, name: str, hint: str, read: Callable[[LibraryRow], T]) -> T:
    """Run ``read(row)`` inside one catalog snapshot, ``row`` being library ``name`` as of that
    snapshot, so every row it reads belongs to ``row.generation`` whatever writers commit
    meanwhile. ``read`` loads that generation's vector files; when they are gone (a writer
    moved on twice and swept them) it runs again on a newer snapshot; when they stay gone at
    the same generation they are lost (VectorFilesDamaged naming the file and ``hint``)."""
    gone: tuple[int, str] | None = None
    for _ in range(READ_ATTEMPTS):
        with catalog.snapshot():
            row = catalog.library(name)
            if row is None:
                raise LibraryNotFound(f"library '{name}' was removed from its catalog")
            try:
                try:
                    return read(row)
                except FileNotFoundError as exc:
                    missing = str(getattr(exc, "path", None) or (exc.args[0] if exc.args else exc))
                    if gone != (row.generation, missing):
                        gone = (row.generation, missing)
                        continue
                    if isinstance(exc, VectorFilesDamaged):
                        raise
                    raise VectorFilesDamaged(Path(missing), "vector file missing", hint) from None
            except VectorFilesDamaged as damage:
                return _read_previous(row, read, damage)
    raise VagentError(f"library '{name}': vector files keep changing; try again")


_WARNED: set[tuple[str, int]] = set()


def _read_previous(
    row: LibraryRow, read: Callable[[LibraryRow], T], damage: VectorFilesDamaged
) -> T:
    """Read from the generation before ``row``'s when its files are intact (checksummed), with
    one warning line; else raise ``damage``. The catalog rows are newer than those vectors: a
    video added since has no vectors there, and one removed since is left out of results."""
    previous = (parse_record(row.vector_files) or {}).get("previous") or {}
    files = previous.get("files") or {}
    if (
        previous.get("generation") != row.generation - 1
        or not files
        or not all(f.get("sha256") for f in files.values())
    ):
        raise damage
    older = LibraryRow(**{c.name: getattr(row, c.name) for c in LibraryRow.__table__.columns})
    older.generation = row.generation - 1
    try:
        result = read(older)
    except (VectorFilesDamaged, FileNotFoundError):
        raise damage from None
    key = (str(damage.path), row.generation)
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(
            f"{damage}; meanwhile reading generation {older.generation}, which may miss the "
            f"latest changes",
            VagentWarning,
            stacklevel=2,
        )
    return result


@dataclass
class Ranked:
    """A segment on its way to becoming a hit."""

    segment_id: int
    score: float
    frame_time: float | None = None
    segment_score: float = float("nan")
    channels: list[str] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)


def best_frames(
    catalog: Catalog, vectors: VectorSet, q: np.ndarray, segment_ids: list[int]
) -> dict[int, tuple[float, float]]:
    """segment id -> (best frame similarity to ``q`` (dim,), that frame's time)."""
    if not segment_ids:
        return {}
    frames = catalog.frames_of_segments(sorted(set(segment_ids)))
    if vectors.stale:  # an older generation's vectors: rows added since have none
        frames = [f for f in frames if f.id in vectors.held("frames")]
    fvecs = vectors.frames.reconstruct(np.array([f.id for f in frames], np.int64))
    sims = fvecs @ q
    best: dict[int, tuple[float, float]] = {}
    for f, s in zip(frames, sims):
        cur = best.get(f.segment_id)
        if cur is None or s > cur[0]:
            best[f.segment_id] = (float(s), f.time)
    return best


def visual_ranking(
    catalog: Catalog,
    vectors: VectorSet,
    q: np.ndarray,
    width: int,
    allowed: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Ranked]:
    """Segments near ``q`` (dim,) by their mean vector or by one of their frames, ranked by
    their best frame. ``allowed`` = (segment ids, frame ids) to restrict to."""
    q2 = q.reshape(1, -1).astype(np.float32)
    seg_scores, seg_ids = vectors.segments.search(q2, width, allowed[0] if allowed else None)
    _, frm_ids = vectors.frames.search(q2, width, allowed[1] if allowed else None)
    seg_score = {int(i): float(s) for s, i in zip(seg_scores[0], seg_ids[0]) if i >= 0}
    if vectors.stale:  # vectors of segments removed since have no rows
        present = catalog.segments_by_id(list(seg_score))
        seg_score = {i: s for i, s in seg_score.items() if i in present}
    candidates = set(seg_score)
    frame_hits = [int(i) for i in frm_ids[0] if i >= 0]
    if frame_hits:
        candidates |= {f.segment_id for f in catalog.frames_by_id(frame_hits)}
    best = best_frames(catalog, vectors, q, sorted(candidates))
    missing = [sid for sid in candidates if sid not in seg_score]
    if vectors.stale:
        missing = [sid for sid in missing if sid in vectors.held("segments")]
    if missing:
        svecs = vectors.segments.reconstruct(np.array(missing, np.int64))
        seg_score.update({sid: float(v @ q) for sid, v in zip(missing, svecs)})
    ranked = [
        Ranked(sid, s, t, seg_score.get(sid, float("nan")), ["visual"])
        for sid, (s, t) in best.items()
    ]
    return sorted(ranked, key=lambda r: (-r.score, r.segment_id))


def to_hits(catalog: Catalog, ranked: list[Ranked]) -> list[Hit]:
    """Attach videos and times to ranked segments (in the given order)."""
    if not ranked:
        return []
    segs = catalog.segments_by_id([r.segment_id for r in ranked])
    ranked = [r for r in ranked if r.segment_id in segs]  # (older vectors: rows gone since)
    videos = catalog.videos_by_id(list({segs[r.segment_id].video_id for r in ranked}))
    # a live stream's item (its path a URL) is never a missing file
    exists = {
        vid: v.decode_strategy == "live" or Path(v.path).exists() for vid, v in videos.items()
    }
    hits = []
    for r in ranked:
        seg = segs[r.segment_id]
        video = videos[seg.video_id]
        t = seg.start if r.frame_time is None else r.frame_time
        hits.append(
            Hit(
                video=video.path,
                start=round(seg.start, 3),
                end=round(seg.end, 3),
                score=round(r.score, 6),
                segment_id=r.segment_id,
                frame_time=round(t, 3),
                segment_score=None if np.isnan(r.segment_score) else round(r.segment_score, 6),
                video_id=video.id,
                missing=not exists[video.id],
                channels=r.channels,
                texts=r.texts,
            )
        )
    return hits


def search_vectors(
    catalog: Catalog,
    vectors: VectorSet,
    query: np.ndarray,
    k: int,
    allowed: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Hit]:
    """Visual-only search: the ``k`` best segments for ``query`` (dim,) normalised."""
    return to_hits(catalog, visual_ranking(catalog, vectors, query, max(4 * k, 32), allowed)[:k])
