"""Stored KV caches for an indexed library: ``build_caches`` prefills every segment that lacks a
current cache, ``drop_orphans`` removes cache files whose catalog row is gone.

A segment's cache holds the keys and values of exactly the tokens its answerer renders for it,
encoded behind the answerer's shared prompt prefix. The answerer does the encoding: it is a
``vagent.components.KvAnswerer`` whose ``kv_encoder`` (``vagent.kv.encoder.KvEncoder``) owns
the model compute; this module decides what to encode and where it goes, and imports no model
code. Stream mode encodes a video's segments in temporal order, each seeing the prefix and the
last ``window`` tokens before it; independent mode encodes each segment alone behind the
prefix (see the encoder's docstring).

Caches go to the ``kv_store`` plugin (the kind's default: files under ``<library>/kv/``) as
they are made, a few segments at a time, and their ``kv_caches`` rows are committed after their
files: a killed build keeps what landed, and building again fills in the rest (a stream
resumes from the stored window before it).
"""

from __future__ import annotations

import bisect
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

from vagent import plugins
from vagent.catalog import Catalog
from vagent.catalog.schema import KvRow, SegmentRow, TextSpanRow, VideoRow
from vagent.components import ANSWERER, KvAnswerer
from vagent.errors import VagentError
from vagent.kv.encoder import KvEncoder
from vagent.kv.fingerprint import DEFAULT_WINDOW, mode_label
from vagent.kv.maintain import drop_orphans, record_of
from vagent.kv.packed import KvEntry, check_dtype_name
from vagent.kv.store import KvRecord, KVStore, store_of
from vagent.locking import write_lock
from vagent.types import Evidence

FLUSH = 8  # segments per store write + catalog commit

__all__ = ["build_caches", "drop_orphans", "store_of"]


def _evidence(catalog: Catalog, video: VideoRow) -> list[Evidence]:
    """The video's segments as an answerer sees them: times and overlapping spans, in order."""
    with catalog.session() as s:
        segs = s.scalars(
            select(SegmentRow).where(SegmentRow.video_id == video.id).order_by(SegmentRow.start)
        ).all()
        spans = s.scalars(
            select(TextSpanRow)
            .where(TextSpanRow.video_id == video.id)
            .order_by(TextSpanRow.start, TextSpanRow.id)
        ).all()
    out = [Evidence(video.path, video.id, g.id, g.start, g.end, 0.0) for g in segs]
    starts = [g.start for g in segs]
    for t in spans:  # each span goes to the segments it overlaps, as the select node does
        j = bisect.bisect_left(starts, t.end) - 1
        while j >= 0 and out[j].end > t.start:  # segments do not overlap: stop at the first
            out[j].texts.append(
                {"source": t.source, "start": t.start, "end": t.end, "text": t.text}
            )
            j -= 1
    return out


@dataclass
class _Run:
    """One build: the encoder, where the caches go, and the counts for the report."""

    ans: KvAnswerer
    enc: KvEncoder
    store: KVStore
    catalog: Catalog
    root: Path
    bar: Any
    counts: Counter[str] = field(default_factory=Counter)


def _current(run: _Run, ev: list[Evidence], keys: list[str]) -> tuple[list[bool], dict[int, KvRow]]:
    """Which segments have a cache of this fingerprint and rendering, intact; their rows.

    The store checks each row's cache quickly (``KVStore.scan`` with ``full=False``): a
    missing, truncated or garbled one is built again."""
    rows = run.catalog.kv_rows([e.segment_id for e in ev], run.enc.fingerprint.key)
    have = [(i, rows[e.segment_id]) for i, e in enumerate(ev) if e.segment_id in rows]
    records = [record_of(row, run.store) for _, row in have]
    found = run.store.scan(records, full=False, orphans=False)
    out = [False] * len(ev)
    for (i, _), record, status in zip(have, records, found):
        out[i] = status.ok and record.key == keys[i]
    return out, rows


def _seed(
    run: _Run, ev: list[Evidence], keys: list[str], rows: dict[int, KvRow], first: int
) -> list[KvEntry] | None:
    """The stored caches of the window before segment ``first`` (stream mode), oldest first,
    or None if they cannot load."""
    want: list[str] = []
    left = run.enc.window or 0
    for i in range(first - 1, -1, -1):
        if left <= 0:
            break
        want.insert(0, keys[i])
        left -= rows[ev[i].segment_id].tokens
    batch = run.store.get(want, run.enc.fingerprint)
    if batch.failed:
        return None
    return batch.ordered(want)


def _row(segment_id: int, r: KvRecord) -> KvRow:
    return KvRow(
        segment_id=segment_id, fingerprint=r.fingerprint, model_id=r.model, dtype=r.dtype,
        layers=r.layers, tokens=r.tokens, pos_start=r.start, pos_end=r.end, bytes=r.bytes,
        sha256=r.sha256, file=r.file,
    )  # fmt: skip


def _flush(run: _Run, pending: list[tuple[int, KvEntry]]) -> None:
    if not pending:
        return
    records = run.store.put([e for _, e in pending], run.enc.fingerprint)
    rows = [_row(sid, r) for (sid, _), r in zip(pending, records)]
    run.catalog.save_kv_rows(rows)
    run.counts["built"] += len(rows)
    run.counts["tokens"] += sum(r.tokens for r in records)
    run.counts["bytes"] += sum(r.bytes for r in records)
    run.bar.update(len(rows))
    pending.clear()


def _build_video(run: _Run, ev: list[Evidence]) -> None:
    keys = [run.ans.kv_key(e) for e in ev]
    current, rows = _current(run, ev, keys)
    before: list[KvEntry] = []
    if all(current):
        todo: list[int] = []
    elif run.enc.mode == "independent":
        todo = [i for i, ok in enumerate(current) if not ok]
    else:
        first = current.index(False)
        seeded = _seed(run, ev, keys, rows, first) if first else []
        first, before = (first, seeded) if seeded is not None else (0, [])
        todo = list(range(first, len(ev)))  # later segments saw this one: re-encode them too
    run.counts["cached"] += len(ev) - len(todo)
    run.bar.update(len(ev) - len(todo))
    if not todo:
        return
    pending: list[tuple[int, KvEntry]] = []
    made = run.enc.encode([ev[i] for i in todo], [keys[i] for i in todo], before)
    for i, entry in zip(todo, made):
        pending.append((ev[i].segment_id, entry))
        if len(pending) >= FLUSH:
            _flush(run, pending)
    _flush(run, pending)


def build_caches(
    library: Any,
    answerer_id: str | None = None,
    mode: str = "stream",
    progress: bool = True,
    *,
    window: int = DEFAULT_WINDOW,
    store_dtype: str | None = None,
    device: str | None = None,
    answerer: Any = None,
) -> dict[str, Any]:
    """Prefill and store the KV cache of every segment of ``library`` that lacks a current one
    (see the module docstring); returns a JSON-safe report. ``answerer``: an answerer object to
    use instead of creating ``answerer_id`` (default: the ``answerer`` kind's default);
    ``store_dtype``: float32, bfloat16 or float16 (default: the model's dtype, so cached answers
    match re-encoded ones)."""
    t0 = time.perf_counter()
    row = library.settings()
    if store_dtype is not None:
        check_dtype_name(store_dtype)
    asked = answerer_id or ANSWERER.default or ""
    try:
        ans = answerer or plugins.registry().create(ANSWERER, asked, device=device)
    except (VagentError, ValueError, TypeError) as exc:
        raise VagentError(f"answerer '{asked}' cannot prefill KV caches: {exc}") from None
    if not isinstance(ans, KvAnswerer):
        raise VagentError(
            f"answerer '{ans.id}' cannot prefill KV caches (it has no kv_encoder); use one that "
            f"can (the default, {ANSWERER.default}, does)"
        )
    if mode == "stream" and window < 1:
        raise ValueError(f"stream mode needs a window of at least 1 token, got {window}")
    label = mode_label(mode, window)
    enc = ans.kv_encoder(mode, window, store_dtype)  # UnsupportedRope: cannot re-base
    catalog: Catalog = library.catalog
    catalog.check_schema(create=True)  # an older catalog gets its kv_caches table
    root = Path(library.root)
    with write_lock(root):
        dropped = drop_orphans(library, locked=True)
        videos = catalog.videos(row.id)
        total = catalog.counts(row.id)["segments"]
        bar = tqdm(total=total, desc="kv build", unit="seg", disable=not progress,
                   file=sys.stderr, leave=False, dynamic_ncols=True)  # fmt: skip
        run = _Run(ans, enc, store_of(root), catalog, root, bar)
        try:
            for video in videos:
                before = run.counts["built"]
                _build_video(run, _evidence(catalog, video))
                run.counts["videos_built"] += int(run.counts["built"] > before)
        finally:
            bar.close()
        dropped_after = drop_orphans(library, locked=True)  # files of replaced caches
    c, fp = run.counts, enc.fingerprint
    return {
        "library": library.name, "answerer": ans.id, "model": fp.model,
        "fingerprint": fp.key, "prefill": label, "dtype": enc.dtype,
        "videos": len(videos), "videos_built": c["videos_built"], "segments": total,
        "built": c["built"], "already_cached": c["cached"], "tokens": c["tokens"],
        "bytes": c["bytes"], "orphans_dropped": dropped["files"] + dropped_after["files"],
        "seconds": round(time.perf_counter() - t0, 3),
    }  # fmt: skip
