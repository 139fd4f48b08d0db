"""Stored KV caches for an indexed library: ``build_caches`` prefills every segment that lacks a
current cache, ``drop_orphans`` removes cache files whose catalog row is gone.

A segment's cache holds the keys and values of exactly the tokens its answerer renders for it
(``segment_block``: its times and the words of the text spans overlapping it), encoded behind
the answerer's shared prompt prefix. Stream mode encodes a video's segments in temporal order,
each seeing the prefix and the last ``window`` tokens before it; when the next segment would run
past the model's ``max_position_embeddings``, the window is moved back behind the prefix by
re-rotating its keys, so positions stay bounded on videos of any length. Independent mode
encodes each segment alone behind the prefix. Answerers re-base the caches they splice to
consecutive positions, so either mode's caches are read the same way.

Caches go to the ``kv_store`` plugin (``safetensors``: files under ``<library>/kv/``) as they
are made, a few segments at a time, and their ``kv_caches`` rows are committed after their files:
a killed build keeps what landed, and building again fills in the rest (a stream resumes from
the stored window before it). Only the answerer's duck-typed ``KvAnswerer`` methods are used, so
the core never imports a plugin.
"""

from __future__ import annotations

import bisect
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from sqlalchemy import select
from tqdm import tqdm

from vagent import plugins
from vagent.catalog import Catalog
from vagent.catalog.schema import KvRow, SegmentRow, TextSpanRow, VideoRow
from vagent.components.answerer import KvAnswerer
from vagent.errors import VagentError
from vagent.kv.fingerprint import Fingerprint, fingerprint_of, weights_digest
from vagent.kv.maintain import drop_orphans, file_key
from vagent.kv.packed import KvEntry, dtype_name, pack
from vagent.kv.prefill import DEFAULT_WINDOW, _window, encode, extend, mode_label, model_dtype
from vagent.kv.rope import Rope, rope_of, shift_packed
from vagent.kv.splice import splice
from vagent.kv.store import KvRecord, KVStore
from vagent.kv.verify import problem
from vagent.locking import write_lock
from vagent.types import Evidence

FLUSH = 8  # segments per store write + catalog commit
STORE = "safetensors"

__all__ = ["KvAnswerer", "KvModel", "build_caches", "drop_orphans"]


@dataclass
class KvModel:
    """What prefilling needs from an answerer: ``model`` (a transformers causal LM), ``tokenize``
    (text to the ids the answerer feeds, no special tokens added), and what the fingerprint is
    made of: ``model_id``, ``revision`` (None: a digest of the loaded weights) and ``template``
    (text that changes whenever the answerer's prompt rendering does)."""

    model: Any
    tokenize: Callable[[str], list[int]]
    model_id: str
    template: str
    revision: str | None = None
    _fingerprints: dict[str, Fingerprint] = field(default_factory=dict, repr=False)

    def fingerprint(self, prefill: str) -> Fingerprint:
        """The fingerprint of caches made in mode ``prefill`` (``mode_label``)."""
        if prefill not in self._fingerprints:
            rev = self.revision or f"weights:{weights_digest(self.model)}"
            self.revision = rev
            self._fingerprints[prefill] = fingerprint_of(
                self.model, self.template, prefill, model_id=self.model_id, revision=rev
            )
        return self._fingerprints[prefill]


def store_of(root: Path) -> KVStore:
    store: KVStore = plugins.registry().create("kv_store", STORE, root=root)
    return store


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
    """One build: the model, where the caches go, and the counts for the report."""

    ans: KvAnswerer
    km: KvModel
    fp: Fingerprint
    mode: str
    window: int
    rope: Rope
    store: KVStore
    catalog: Catalog
    root: Path
    head: KvEntry
    limit: int
    store_dtype: torch.dtype
    bar: Any
    counts: Counter[str] = field(default_factory=Counter)


def _current(run: _Run, ev: list[Evidence], keys: list[str]) -> tuple[list[bool], dict[int, KvRow]]:
    """Which segments have a cache of this fingerprint and rendering, intact; their rows."""
    rows = run.catalog.kv_rows([e.segment_id for e in ev], run.fp.key)
    out = []
    for e, key in zip(ev, keys):
        row = rows.get(e.segment_id)
        out.append(row is not None and file_key(row.file) == key and _intact(run.root, row))
    return out, rows


def _intact(root: Path, row: KvRow) -> bool:
    """The row's file is there at its recorded size with its recorded sha256 (a missing,
    truncated or garbled file is built again; see ``verify.problem`` for when it is hashed)."""
    return problem(root / "kv" / row.file, row, full=False) is None


def _seed(
    run: _Run, ev: list[Evidence], keys: list[str], rows: dict[int, KvRow], first: int
) -> list[KvEntry] | None:
    """The stored window before segment ``first`` (stream mode), or None if it cannot load."""
    want: list[str] = []
    left = run.window
    for i in range(first - 1, -1, -1):
        if left <= 0:
            break
        want.insert(0, keys[i])
        left -= rows[ev[i].segment_id].tokens
    batch = run.store.get(want, run.fp)
    if batch.failed:
        return None
    dtype = model_dtype(run.km.model)
    entries = [KvEntry(e.key, e.kv.to(dtype), e.start) for e in batch.ordered(want)]
    return _window(entries, run.window)


def _row(segment_id: int, r: KvRecord) -> KvRow:
    return KvRow(
        segment_id=segment_id, fingerprint=r.fingerprint, model_id=r.model, dtype=r.dtype,
        layers=r.layers, tokens=r.tokens, pos_start=r.start, pos_end=r.end, bytes=r.bytes,
        sha256=r.sha256, file=r.file,
    )  # fmt: skip


def _flush(run: _Run, pending: list[tuple[int, KvEntry]]) -> None:
    if not pending:
        return
    records = run.store.put([e for _, e in pending], run.fp)
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
    history: list[KvEntry] = []
    if all(current):
        todo: list[int] = []
    elif run.mode == "independent":
        todo = [i for i, ok in enumerate(current) if not ok]
    else:
        first = current.index(False)
        seeded = _seed(run, ev, keys, rows, first) if first else []
        first, history = (first, seeded) if seeded is not None else (0, [])
        todo = list(range(first, len(ev)))  # later segments saw this one: re-encode them too
    run.counts["cached"] += len(ev) - len(todo)
    run.bar.update(len(ev) - len(todo))
    if not todo:
        return
    model, p = run.km.model, run.head.end
    position = history[-1].end if history else p
    pending: list[tuple[int, KvEntry]] = []
    for i in todo:
        ids = torch.tensor([run.km.tokenize(run.ans.segment_block(ev[i]))])
        n = int(ids.shape[1])
        if run.mode == "stream" and position + n > run.limit:
            history = _rebase(history, p, run.rope)  # the window moves back behind the prefix
            position = history[-1].end if history else p
        start = position if run.mode == "stream" else p
        if start + n > run.limit:
            raise VagentError(
                f"segment {ev[i].segment_id} of {ev[i].video} needs positions up to {start + n}, "
                f"past the model's {run.limit}: build with a smaller window or --mode independent"
            )
        ctx = splice([run.head, *history])
        begin = ctx.length
        extend(model, ctx, {"input_ids": ids.to(run.head.kv.device)}, start=start)
        kv = pack(ctx.cache, begin, begin + n, device=run.head.kv.device)
        pending.append((ev[i].segment_id, KvEntry(keys[i], kv.to("cpu", run.store_dtype), start)))
        if run.mode == "stream":
            history = _window([*history, KvEntry(keys[i], kv, start)], run.window)
            position = start + n
        if len(pending) >= FLUSH:
            _flush(run, pending)
    _flush(run, pending)


def _rebase(history: list[KvEntry], start: int, rope: Rope) -> list[KvEntry]:
    out, cursor = [], start
    for e in history:
        out.append(KvEntry(e.key, shift_packed(e.kv, cursor - e.start, rope), cursor))
        cursor += e.tokens
    return out


def _max_positions(model: Any) -> int:
    cfg = model.config
    cfg = cfg.get_text_config(decoder=True) if hasattr(cfg, "get_text_config") else cfg
    return int(getattr(cfg, "max_position_embeddings", 0) or 2**62)


def build_caches(
    library: Any,
    answerer_id: str = "hf-text",
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
    use instead of creating ``answerer_id``; ``store_dtype``: float32, bfloat16 or float16
    (default: the model's dtype, so cached answers match re-encoded ones)."""
    from vagent.kv.packed import dtype_of

    t0 = time.perf_counter()
    row = library.settings()
    try:
        ans = answerer or plugins.registry().create("answerer", answerer_id, device=device)
    except (VagentError, ValueError, TypeError) as exc:
        raise VagentError(f"answerer '{answerer_id}' cannot prefill KV caches: {exc}") from None
    if not isinstance(ans, KvAnswerer):
        raise VagentError(
            f"answerer '{ans.id}' cannot prefill KV caches (it has no kv_model); use "
            "--answerer hf-text"
        )
    if mode == "stream" and window < 1:
        raise ValueError(f"stream mode needs a window of at least 1 token, got {window}")
    label = mode_label(mode, window)
    km = ans.kv_model()
    fp, rope = km.fingerprint(label), rope_of(km.model)  # UnsupportedRope: cannot re-base
    catalog: Catalog = library.catalog
    catalog.check_schema(create=True)  # an older catalog gets its kv_caches table
    root = Path(library.root)
    dtype = dtype_of(store_dtype) if store_dtype else model_dtype(km.model)
    head = next(iter(encode(km.model, km.tokenize(ans.prefix()), [])))
    head = KvEntry("prefix", head.kv.to(next(km.model.parameters()).device), 0)
    with write_lock(root):
        dropped = drop_orphans(library, locked=True)
        videos = catalog.videos(row.id)
        total = catalog.counts(row.id)["segments"]
        bar = tqdm(total=total, desc="kv build", unit="seg", disable=not progress,
                   file=sys.stderr, leave=False, dynamic_ncols=True)  # fmt: skip
        run = _Run(ans, km, fp, mode, window, rope, store_of(root), catalog, root, head,
                   _max_positions(km.model), dtype, bar)  # fmt: skip
        try:
            for video in videos:
                before = run.counts["built"]
                _build_video(run, _evidence(catalog, video))
                run.counts["videos_built"] += int(run.counts["built"] > before)
        finally:
            bar.close()
        dropped_after = drop_orphans(library, locked=True)  # files of replaced caches
    c = run.counts
    return {
        "library": library.name, "answerer": ans.id, "model": km.model_id,
        "fingerprint": fp.key, "prefill": label, "dtype": dtype_name(dtype),
        "videos": len(videos), "videos_built": c["videos_built"], "segments": total,
        "built": c["built"], "already_cached": c["cached"], "tokens": c["tokens"],
        "bytes": c["bytes"], "orphans_dropped": dropped["files"] + dropped_after["files"],
        "seconds": round(time.perf_counter() - t0, 3),
    }  # fmt: skip
