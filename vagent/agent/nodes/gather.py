"""gather: fetch what the answerer looks at. Every moment's source file is checked; a file that
has moved or gone is named in ``missing_sources`` and its moment goes on with what the index
holds (times and text). Answerers that want frames get them decoded from the source files at
the chosen times (kept in the context, not the state).

Answerers that read stored KV caches (``Answerer.kv_fingerprints``, made by ``vagent kv
build``) get the caches of the chosen segments: the catalog's rows of the fingerprint that
covers most of them, loaded through the KV store and checked against the rows' checksums. The
caches stay in the context (``ctx.kv``, by segment id); the state only marks each moment that
has one with its key (``kv``). A missing, stale or corrupt cache is named in the trace and its
moment is encoded afresh by the answerer.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from vagent.agent.context import AgentContext
from vagent.agent.state import QAState, Trace
from vagent.errors import VagentError
from vagent.types import Evidence, Moment


def gather(state: QAState, ctx: AgentContext) -> tuple[QAState, Trace]:
    evidence = [e.copy() for e in state.get("evidence") or []]
    missing: dict[str, str] = {}
    by_video: dict[tuple[int, str], list[Moment]] = defaultdict(list)
    for e in evidence:
        if not Path(e["video"]).is_file():
            missing[e["video"]] = "the file is gone (moved or deleted); re-index its new location"
            e["missing"] = True
        else:
            e["missing"] = False
            by_video[(e["video_id"], e["video"])].append(e)
    decoded = 0
    if ctx.answerer.wants_frames:
        for (vid, path), moments in by_video.items():
            want = sorted({t for e in moments for t in e["frame_times"]})
            want = [t for t in want if (vid, t) not in ctx.frames]
            if not want:
                continue
            try:
                batch = ctx.decoder_for(vid).frames_at(path, want)
            except (VagentError, OSError, ValueError) as exc:
                missing[path] = f"could not be decoded ({exc})"
                for e in moments:
                    e["missing"] = True
                continue
            for t, img in zip(want, batch.images):
                ctx.frames[(vid, t)] = img
            decoded += len(want)
    kv = attach_caches(evidence, ctx)
    source = "frames" if ctx.answerer.wants_frames else "text"
    info: Trace = {
        "frames_decoded": decoded,
        "source": "kv" if kv.get("kv_segments") else source,  # kv: some moments from caches
    }
    info.update(kv)
    info["missing"] = [f"{p}: {why}" for p, why in missing.items()]
    prior = list(state.get("missing_sources") or [])
    sources = prior + [p for p in missing if p not in prior]
    return {"evidence": evidence, "missing_sources": sources}, info


def attach_caches(evidence: list[Moment], ctx: AgentContext) -> Trace:
    """Load the stored KV caches of ``evidence`` into ``ctx.kv`` (replacing the last round's)
    and mark the moments that got one; what the trace says about it (empty when the answerer
    reads no caches)."""
    ctx.kv.clear()
    for e in evidence:
        e.pop("kv", None)
    if not evidence:
        return {}
    try:
        with ctx.model_call():  # the answerer may load its model to say what it reads
            fingerprints = ctx.answerer.kv_fingerprints()
        if not fingerprints:
            return {}
        return _load(evidence, ctx, fingerprints)
    except (VagentError, OSError, ValueError) as exc:
        ctx.kv.clear()
        for e in evidence:
            e.pop("kv", None)
        return {"kv_segments": 0, "kv_error": f"{type(exc).__name__}: {exc}"}


def _load(evidence: list[Moment], ctx: AgentContext, fingerprints: list[Any]) -> Trace:
    from vagent.kv.errors import KvCorrupt
    from vagent.kv.store import store_of

    catalog = ctx.library.catalog
    segment_ids = sorted({e["segment_id"] for e in evidence})
    found = [(fp, catalog.kv_rows(segment_ids, fp.key)) for fp in fingerprints]
    fp, rows = max(found, key=lambda f: len(f[1]))  # the first of those covering the most
    if not rows:
        return {"kv_segments": 0}
    keys = {
        e["segment_id"]: ctx.answerer.kv_key(Evidence.from_dict(e))
        for e in evidence
        if e["segment_id"] in rows
    }
    if ctx.kv_store is None:
        ctx.kv_store = store_of(ctx.library.root)
    batch = ctx.kv_store.get(list(keys.values()), fp, {keys[s]: rows[s].sha256 for s in keys})
    corrupt: list[str] = []
    unusable: list[str] = []
    for sid, key in keys.items():
        if key in batch.entries:
            ctx.kv[sid] = batch.entries[key]
            continue
        err = batch.failed.get(key)
        if isinstance(err, KvCorrupt):
            corrupt.append(f"segment {sid}: {Path(err.path).name}: {err.reason}")
        else:  # its words or video name changed since it was built, or its file is gone
            unusable.append(f"segment {sid}: {err}")
    for e in evidence:
        if e["segment_id"] in ctx.kv:
            e["kv"] = keys[e["segment_id"]]
    return {
        "kv_segments": len(ctx.kv),
        "kv_of": len(evidence),
        "kv_fingerprint": fp.key,
        "kv_corrupt": corrupt,
        "kv_unusable": unusable,
    }
