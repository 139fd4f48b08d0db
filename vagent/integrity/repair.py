"""``vagent repair``: make a library whole again from what can be trusted, saying what it did.

Vector files are rebuilt as a new generation: every vector is taken from a file that matches
its recorded checksum (the committed generation, else the one before it) or recomputed from
the catalog: segment vectors are the mean of their frames' vectors, text vectors are the span
texts encoded again. Videos whose frame vectors are lost are re-encoded from their source files
(or dropped, said by name, when the file is gone). Damaged KV caches and unreadable threads go
through the modules that own them (threads are saved aside before they are dropped).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from vagent.catalog import FrameRow, SegmentRow, TextSpanRow, VideoRow
from vagent.catalog.store import CatalogDamaged
from vagent.components import VectorIndex
from vagent.ingest.commit import commit_vectors
from vagent.integrity.check import Report, optional
from vagent.integrity.owner import check_owner
from vagent.integrity.scan import KindState, catalog_problems, previous_index, scan_vectors
from vagent.locking import write_lock
from vagent.vectors import VectorSet

if TYPE_CHECKING:
    from vagent.catalog import LibraryRow
    from vagent.library import Library


def repair_library(lib: Library) -> Report:
    """Repair what ``vagent check`` finds; every action is one line of the report."""
    report = Report(lib.name)
    problems = catalog_problems(lib.location.db_url)
    if problems:
        raise CatalogDamaged(
            f"{problems[0]}: repair cannot rebuild a catalog; restore it from a backup, or "
            f"index the videos into a new library"
        )
    row = lib.settings()
    lost: list[VideoRow] = []
    with write_lock(lib.root):
        cat = lib.catalog
        row = cat.library(lib.name) or row
        check_owner(lib.root, cat, lib.name, row)
        vectors = lib._make_vectors(row)
        states = {s.kind: s for s in scan_vectors(cat, row, vectors)}
        report.checked.append("vectors")
        if all(s.ok for s in states.values()):
            report.notes.append("vector files: all match their checksums and the catalog")
        else:
            lost = _rebuild(lib, row, vectors, states, report)
        report.actions += optional(report, "kv", lambda: _repair_kv(lib))
        report.actions += optional(report, "threads", lambda: _repair_threads(lib))
    for video in lost:
        _reencode(lib, video, report)
    lib._vectors = None  # readers of this object load the new generation
    return report


def _rebuild(
    lib: Library, row: LibraryRow, vectors: VectorSet, states: dict[str, KindState], report: Report
) -> list[VideoRow]:
    for state in states.values():
        if not state.ok:
            report.problems.append(state.line())
    cat = lib.catalog
    with cat.reading() as s:
        videos = {v.id: v for v in s.scalars(select(VideoRow).where(VideoRow.library_id == row.id))}
        vids = list(videos)
        frames = s.execute(
            select(FrameRow.id, FrameRow.video_id, FrameRow.segment_id).where(
                FrameRow.video_id.in_(vids)
            )
        ).all()
        segments = s.execute(
            select(SegmentRow.id, SegmentRow.video_id).where(SegmentRow.video_id.in_(vids))
        ).all()
        spans = s.execute(
            select(TextSpanRow.id, TextSpanRow.video_id, TextSpanRow.text).where(
                TextSpanRow.video_id.in_(vids)
            )
        ).all()
    # frames: only from trusted files; a video missing any frame vector is lost
    frame_ids = np.array([f.id for f in frames], np.int64)
    fvec, fsource = _salvage(row, vectors, states["frames"], frame_ids)
    lost_ids = sorted({f.video_id for f in frames if f.id not in fvec})
    keep = [f for f in frames if f.video_id not in set(lost_ids)]
    fresh = vectors.empty()
    if keep:
        ids = np.array([f.id for f in keep], np.int64)
        fresh["frames"].add(ids, np.stack([fvec[int(i)] for i in ids]))
    report.actions.append(f"frame vectors: {len(keep)} kept ({fsource})")
    # segments: trusted vectors where there are some, else the mean of their frames
    lost_set = set(lost_ids)
    seg_keep = np.array([sg.id for sg in segments if sg.video_id not in lost_set], np.int64)
    svec, ssource = _salvage(row, vectors, states["segments"], seg_keep)
    by_seg: dict[int, list[int]] = defaultdict(list)
    for f in keep:
        by_seg[f.segment_id].append(f.id)
    computed = 0
    for sid in seg_keep.tolist():
        if sid not in svec:  # a segment without frames (audio only) has a zero vector
            m = np.mean([fvec[i] for i in by_seg[sid]], axis=0) if by_seg.get(sid) else None
            m = np.zeros(row.dim) if m is None else m
            svec[sid] = (m / max(float(np.linalg.norm(m)), 1e-12)).astype(np.float32)
            computed += 1
    seg_ids = np.array([i for i in seg_keep.tolist() if i in svec], np.int64)
    if len(seg_ids):
        fresh["segments"].add(seg_ids, np.stack([svec[int(i)] for i in seg_ids]))
    report.actions.append(
        f"segment vectors: {len(seg_ids) - computed} kept ({ssource}), {computed} recomputed "
        f"from their frames"
    )
    if "texts" in fresh:
        _texts(lib, row, vectors, states["texts"], spans, lost_set, fresh["texts"], report)
    vectors.indexes = fresh
    vectors.generation = row.generation
    gen = commit_vectors(cat, row.id, vectors, drop=lost_ids)
    report.actions.append(f"wrote generation {gen} of the vector files, checksums recorded")
    return [videos[v] for v in lost_ids]


def _texts(
    lib: Library,
    row: LibraryRow,
    vectors: VectorSet,
    state: KindState,
    spans: Any,
    lost: set[int],
    into: VectorIndex,
    report: Report,
) -> None:
    keep = [sp for sp in spans if sp.video_id not in lost]
    ids = np.array([sp.id for sp in keep], np.int64)
    tvec, source = _salvage(row, vectors, state, ids)
    redo = [sp for sp in keep if sp.id not in tvec]
    if redo:
        encoded = lib._text_encoder_for(row).encode([sp.text for sp in redo])
        tvec.update({sp.id: v for sp, v in zip(redo, encoded)})
    if len(ids):
        into.add(ids, np.stack([tvec[int(i)] for i in ids]))
    report.actions.append(
        f"text vectors: {len(ids) - len(redo)} kept ({source}), {len(redo)} encoded again from "
        f"the span texts"
    )


def _salvage(
    row: LibraryRow, vectors: VectorSet, state: KindState, want: np.ndarray
) -> tuple[dict[int, np.ndarray], str]:
    """Vectors of ``want`` from trusted files: the committed one when it is sound, then the
    one before it (matching its checksum). Returns id -> vector and where they came from."""
    out: dict[int, np.ndarray] = {}
    sources = []
    candidates = [("committed file", state.index if state.problem is None else None)]
    if state.problem is not None or len(state.missing_ids):
        candidates.append(("previous generation", previous_index(row, vectors, state.kind)))
    for label, index in candidates:
        if index is None:
            continue
        ids_of = getattr(index, "ids", None)
        if not callable(ids_of):
            continue
        todo = np.setdiff1d(np.intersect1d(want, ids_of()), np.array(list(out), np.int64))
        if len(todo):
            out.update(zip(todo.tolist(), index.reconstruct(todo)))
            sources.append(f"{len(todo)} from the {label}")
    return out, ", ".join(sources) or "none trusted"


def _reencode(lib: Library, video: VideoRow, report: Report) -> None:
    path = Path(video.path)
    if not path.is_file():
        report.actions.append(
            f"dropped {video.path}: its frame vectors were lost and the file is gone; index it "
            f"again when you have it"
        )
        return
    result = lib.index([video.path], progress=False)
    if result.failed:
        report.actions.append(f"dropped {video.path}: re-encoding failed ({result.failed[0][1]})")
    else:
        report.actions.append(f"re-encoded {video.path} from its source file")


def _repair_kv(lib: Library) -> list[str]:
    from vagent.kv.verify import repair_kv

    return list(repair_kv(lib, locked=True))  # we hold the write lock


def _repair_threads(lib: Library) -> list[str]:
    from vagent.agent.threadstore import repair_threads

    return list(repair_threads(lib.root))
