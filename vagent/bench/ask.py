"""``vagent bench ask``: where an answer's time goes, node by node, on a 10-hour library.

The library: one haystack video (``vagent bench needle``'s generator: sample clips, noise,
filler subtitles, needles on screen and in subtitles) indexed for real (PyAV, CLIP, rapidocr,
MiniLM, FAISS, SQLite), then landed again as further videos (links to the same file, the same
vectors and spans) until the library holds ``hours`` of video. Search cost depends on how many
vectors and spans there are, not on their being distinct, so this measures retrieval at that
scale without indexing ten hours on a CPU; the output says so.

The questions: each needle's question, asked of the whole library. Reported: per-node latency
(p50/p95 over questions), model time (answerer and planner calls), the agent's own overhead
(everything else: search, selection, decoding, bookkeeping) as a fraction of the total, and
whether the answer holds the needle's answer words.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from vagent.agent import Agent
from vagent.agent.evaluate import holds_answer, percentiles
from vagent.bench import coldstart, haystack
from vagent.bench.needle import CACHE, ENCODER, plan
from vagent.catalog.schema import FrameRow, SegmentRow, TextSpanRow, VideoRow
from vagent.ingest.commit import NewVideo, land
from vagent.library import Library
from vagent.locking import write_lock
from vagent.types import SegmentSpan, TextSpan

BASE_SECONDS = 600
DEPTHS = [0.1, 0.3, 0.5, 0.7, 0.9]


def replicate(lib: Library, hours: float, folder: Path) -> int:
    """Land copies of the library's only video until it holds ``hours``; returns the count."""
    row = lib.settings()
    cat = lib.catalog
    with cat.session() as s:
        video = s.scalars(select(VideoRow).where(VideoRow.library_id == row.id)).one()
        segs = s.scalars(
            select(SegmentRow).where(SegmentRow.video_id == video.id).order_by(SegmentRow.start)
        ).all()
        frames = s.scalars(
            select(FrameRow).where(FrameRow.video_id == video.id).order_by(FrameRow.time)
        ).all()
        spans = s.scalars(select(TextSpanRow).where(TextSpanRow.video_id == video.id)).all()
        base = {c.name: getattr(video, c.name) for c in VideoRow.__table__.columns}
    vectors = lib._make_vectors(row)
    vectors.load(row.generation, row.vector_files)
    fvecs = vectors.frames.reconstruct(np.array([f.id for f in frames], np.int64))
    index_of = {f.id: i for i, f in enumerate(frames)}
    by_seg: dict[int, list[int]] = defaultdict(list)
    for f in frames:
        by_seg[f.segment_id].append(index_of[f.id])
    segments = [SegmentSpan(sg.start, sg.end, tuple(by_seg[sg.id])) for sg in segs]
    texts = [TextSpan(t.start, t.end, t.source, t.text) for t in spans]
    tvecs = None
    if spans and vectors.texts is not None:
        tvecs = vectors.texts.reconstruct(np.array([t.id for t in spans], np.int64))
    copies = max(0, round(hours * 3600 / video.duration) - 1)
    news = []
    for i in range(copies):
        link = folder / f"copy-{i:03d}{Path(video.path).suffix}"
        if not link.exists():
            os.symlink(video.path, link)
        fields = {k: v for k, v in base.items() if k not in ("id", "library_id", "indexed_at")}
        fields.update(path=str(link), content_hash=f"{video.content_hash[:48]}-copy{i:03d}")
        times = np.array([f.time for f in frames])
        news.append(NewVideo(fields, times, fvecs, segments, texts, tvecs))
    with write_lock(lib.root):
        land(cat, row.id, vectors, add=news)
    lib._vectors = None
    return copies + 1


def run(
    hours: float = 10.0,
    answerer: str | None = None,
    planner: str | None = None,
    quickstart: bool = True,
    base_seconds: int = BASE_SECONDS,
) -> dict:
    """Per-node latency on a library of ``hours`` (one haystack of ``base_seconds`` landed
    again and again); with ``quickstart``, also ask p50 and cold-process search and ask on the
    quickstart's library (``vagent.bench.coldstart``)."""
    CACHE.mkdir(exist_ok=True)
    needles = plan(base_seconds, DEPTHS, shift=0)
    path = CACHE / f"haystack-{base_seconds}s-{len(DEPTHS)}d-0.mp4"
    if not path.exists():
        haystack.build(
            path,
            base_seconds,
            [(n["time"], n["needle"].sentence) for n in needles if n["modality"] == "on-screen"],
            [(n["time"], n["needle"].sentence) for n in needles if n["modality"] == "subtitle"],
        )
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library.open(Path(tmp) / "ask")
        t0 = time.perf_counter()
        report = lib.index([str(path)], encoder=ENCODER, text="subtitles,ocr", progress=False)
        if report.failed:
            raise RuntimeError(f"{path}: {report.failed[0][1]}")
        index_s = time.perf_counter() - t0
        n_videos = replicate(lib, hours, Path(tmp))
        counts = lib.catalog.counts(lib.settings().id)
        counts["text_spans"] = sum(lib.info()["text"]["spans"].values())
        rows = []
        node_ms: dict[str, list[float]] = defaultdict(list)
        with Agent.open(lib, answerer=answerer, planner=planner, checkpoint=False) as agent:
            agent.ask("warm-up: what is on screen?")  # loads the models once, not timed
            for n in needles:
                res = agent.ask(n["needle"].question)
                per: dict[str, float] = defaultdict(float)
                for node in res.trace["nodes"]:
                    per[node["node"]] += node["ms"]
                    if node["node"] == "retrieve":
                        for _ in node["queries"]:
                            node_ms["one search"].append(node["ms"] / len(node["queries"]))
                for k, v in per.items():
                    node_ms[k].append(v)
                t = res.trace
                node_ms["total"].append(t["total_ms"])
                node_ms["model"].append(t["model_ms"])
                node_ms["overhead"].append(t["overhead_ms"])
                rows.append(
                    {
                        "question": n["needle"].question,
                        "modality": n["modality"],
                        "answer": res.answer,
                        "correct": holds_answer(n["needle"].answer, res.answer),
                        "cited": any(
                            c.start <= n["time"] + 1 and n["time"] < c.end for c in res.citations
                        ),
                        "rounds": t["rounds"],
                    }
                )
            ans_id, why = agent.ctx.answerer.id, agent.ctx.choice["answerer_reason"]
        lib.close()
        quick = coldstart.run(Path(tmp) / "quickstart", answerer, planner) if quickstart else None
    total = sum(node_ms["total"])
    return {
        "library": {
            "hours": round(n_videos * base_seconds / 3600, 2),
            "videos": n_videos,
            **counts,
            "note": f"1 haystack of {base_seconds} s indexed for real ({index_s:.0f} s), landed "
            f"{n_videos} times",
        },
        "answerer": ans_id,
        "answerer_reason": why,
        "questions": len(rows),
        "latency_ms": {k: percentiles(v) for k, v in node_ms.items()},
        "overhead_fraction": sum(node_ms["overhead"]) / total if total else None,
        "retrieve_p50_ms": percentiles(node_ms["retrieve"])["p50"],
        "search_p50_ms": percentiles(node_ms["one search"])["p50"],
        "searches_per_question": len(node_ms["one search"]) / max(len(rows), 1),
        "accuracy": sum(r["correct"] for r in rows) / len(rows),
        "cited_needle": sum(r["cited"] for r in rows) / len(rows),
        "rows": rows,
        "quickstart": quick,
    }


def table(r: dict[str, Any]) -> str:
    lib = r["library"]
    lines = [
        f"library   {lib['hours']} h in {lib['videos']} videos; {lib.get('frames', '?')} frames, "
        f"{lib.get('segments', '?')} segments, {lib.get('text_spans', '?')} text spans "
        f"({lib['note']})",
        f"answerer  {r['answerer']} ({r['answerer_reason']}); {r['questions']} questions",
        f"{'node':<10}{'p50 ms':>12}{'p95 ms':>12}",
    ]
    for k, v in r["latency_ms"].items():
        lines.append(f"{k:<10}{v['p50']:>12.1f}{v['p95']:>12.1f}")
    lines += [
        f"agent overhead (all but model calls): {100 * r['overhead_fraction']:.1f}% of the total",
        f"retrieve p50: {r['retrieve_p50_ms']:.1f} ms for {r['searches_per_question']:.1f} "
        f"sub-query searches per question ({r['search_p50_ms']:.1f} ms each)",
        f"answers holding the needle's words: {r['accuracy']:.2f}; citing the needle's moment: "
        f"{r['cited_needle']:.2f}",
    ]
    if r.get("quickstart"):
        lines += coldstart.lines(r["quickstart"], r["latency_ms"]["plan"]["p50"])
    return "\n".join(lines)
