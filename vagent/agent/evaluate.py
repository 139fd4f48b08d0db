"""``vagent eval``: run the agent over a JSONL of questions and score it.

Each item is asked about its own video only (the search is restricted to it). Multiple choice
is right when the chosen letter is the item's letter; an open answer is right when every
content word of the expected answer appears in it (stop words and case ignored). Accuracy is
reported overall, per category and per video-length bucket, with latency percentiles per node.
Every item is answered: where the evidence supports no answer the agent's guess is scored
(``guessed`` in the results). Videos the JSONL names that the library lacks are indexed first
(with the library's settings, or the given ones for a new library); a missing video or a failed
answer costs only its item.

Items converted from a public benchmark (``benchmark`` set) are also reported in that
benchmark's own table (:mod:`vagent.evaldata.tables`); their open answers are not scored by the
all-words rule but by a judge plugin when one is named, else reported unscored. An item kept
with a data defect (its answer is not among the options) is counted wrong, as the official
scripts count it. ``run`` records what a reader needs to reproduce the numbers.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vagent import __version__
from vagent.agent.api import Agent
from vagent.choices import labelled
from vagent.components import JUDGE
from vagent.errors import VagentError
from vagent.evaldata import EvalItem, Problem, length_bucket, read_jsonl
from vagent.evaldata.items import sha256_of
from vagent.evaldata.judge import Judge
from vagent.evaldata.tables import GROUPING, benchmark_table, open_summary
from vagent.library import Library
from vagent.words import tokens


@dataclass
class EvalReport:
    """What ``evaluate`` found. ``results``: one dict per asked item; ``problems``: lines that
    could not be read or asked, as "file:line: reason"."""

    accuracy: float | None
    n: int
    correct: int
    by_category: dict[str, dict[str, Any]]
    by_length: dict[str, dict[str, Any]]
    latency_ms: dict[str, dict[str, float]]
    answerer: str
    problems: list[str] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    benchmark: dict[str, Any] | None = None  # the benchmark's own table (tables.py)
    open: dict[str, Any] = field(default_factory=dict)  # open answers per task, unscored or judged
    defects: int = 0  # items kept with a data defect (counted wrong, as official scoring does)
    run: dict[str, Any] = field(default_factory=dict)  # reproducibility: versions, models, seed

    def to_dict(self, with_results: bool = True) -> dict[str, Any]:
        d = dict(self.__dict__)
        if not with_results:
            d.pop("results")
        return d


def holds_answer(expected: str, answer: str) -> bool:
    """Every content word of ``expected`` is in ``answer`` (and there is at least one)."""
    want = set(tokens(expected))
    return bool(want) and want <= set(tokens(answer))


def is_open(item: EvalItem) -> bool:
    """A benchmark's open question: scored by a judge, never by the all-words rule."""
    return item.options is None and item.benchmark is not None


def is_correct(item: EvalItem, choice: str | None, answer: str) -> bool | None:
    """Right or wrong; None for a benchmark's open question (a judge's business)."""
    if item.options:
        return item.scorable and choice == item.answer
    if is_open(item):
        return None
    return holds_answer(item.answer, answer)


def select(
    items: list[EvalItem], limit: int | None, sample: int | None, seed: int
) -> list[EvalItem]:
    """``sample`` items drawn with ``seed`` (kept in file order), then the first ``limit``.

    The same file, sample and seed give the same items on every machine.
    """
    if sample is not None and sample < len(items):
        picked = sorted(random.Random(seed).sample(range(len(items)), sample))
        items = [items[i] for i in picked]
    return items if limit is None else items[:limit]


def annotations_of(path: str | Path) -> list[dict[str, str]]:
    """The ``# annotation <sha256> <file>`` lines ``vagent convert`` heads its output with."""
    found = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("#"):
                break
            parts = line[1:].strip().split(" ", 2)
            if len(parts) == 3 and parts[0] == "annotation":
                found.append({"sha256": parts[1], "file": parts[2]})
    return found


def library_pins(lib: Library) -> dict[str, Any]:
    """The models and settings a library is pinned to (what its numbers depend on)."""
    if not lib.exists():
        return {}
    row = lib.settings()
    keys = [
        "encoder",
        "embedding_space",
        "index_backend",
        "index_spec",
        "segmenter",
        "segment_seconds",
        "sample_fps",
        "text_sources",
        "ocr",
        "text_encoder",
        "captioner",
        "asr",
    ]
    return {k: getattr(row, k, None) for k in keys}


def _sidecar(video: str) -> bool:
    p = Path(video)
    return any((p.parent / f"{p.stem}{s}").is_file() for s in (".srt", ".vtt"))


def check_subtitles(
    lib: Library, items: list[EvalItem], mode: str | None, index_options: dict[str, Any]
) -> list[Problem]:
    """``with``: the library reads subtitles, and each item's benchmark subtitles lie beside
    its video (one problem per video otherwise; its items are still asked). ``without``: the
    library must not read subtitles (a new one is made without them)."""
    if mode is None:
        return []
    sources = lib.settings().text_sources.split(",") if lib.exists() else None
    if mode == "without":
        if sources is not None and "subtitles" in sources:
            raise VagentError(
                f"library '{lib.name}' indexes subtitles; --subtitles without needs a library "
                "made without them (for example --text ocr,speech on a new library)"
            )
        if sources is None and not index_options.get("text"):
            index_options["text"] = "ocr,speech"
        elif "subtitles" in str(index_options.get("text", "")).split(","):
            raise VagentError("--subtitles without contradicts --text with subtitles")
        return []
    if sources is not None and "subtitles" not in sources:
        raise VagentError(f"library '{lib.name}' does not index subtitles (--subtitles with)")
    text = index_options.get("text")
    if sources is None and text and "subtitles" not in str(text).split(","):
        raise VagentError("--subtitles with contradicts --text without subtitles")
    problems: list[Problem] = []
    seen: set[str] = set()
    for it in items:
        if it.video in seen or _sidecar(it.video):
            continue
        seen.add(it.video)
        where = f" ({it.subtitles} is elsewhere: vagent convert --subtitles-beside)"
        problems.append(
            Problem(
                it.line,
                f"no subtitles beside {it.video}{where if it.subtitles else ''}; asked without",
            )
        )
    return problems


def percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, float)
    return {
        "p50": round(float(np.percentile(a, 50)), 3),
        "p95": round(float(np.percentile(a, 95)), 3),
        "mean": round(float(a.mean()), 3),
        "n": len(values),
    }


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    out: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        out[r[key]].append(r["correct"])
    return {
        k: {"n": len(v), "correct": sum(v), "accuracy": round(sum(v) / len(v), 4)}
        for k, v in sorted(out.items())
    }


def ensure_indexed(
    lib: Library, items: list[EvalItem], index_options: dict[str, Any], progress: bool
) -> tuple[list[EvalItem], list[Problem]]:
    """Index the items' videos the library lacks; drop items whose video is missing or failed."""
    problems = []
    present = []
    for it in items:
        if Path(it.video).is_file():
            present.append(it)
        else:
            problems.append(Problem(it.line, f"video not found: {it.video}"))
    have = {v.path for v in lib.videos()} if lib.exists() else set()
    todo = sorted({str(Path(it.video).resolve()) for it in present} - have)
    failed: dict[str, str] = {}
    if todo:
        report = lib.index(todo, progress=progress, **index_options)
        failed = {str(Path(p).resolve()): why for p, why in report.failed}
    kept = []
    for it in present:
        why = failed.get(str(Path(it.video).resolve()))
        if why:
            problems.append(Problem(it.line, f"{it.video} could not be indexed: {why}"))
        else:
            kept.append(it)
    return kept, problems


def evaluate(
    path: str | Path,
    library: str | Path,
    *,
    answerer: str | None = None,
    planner: str | None = None,
    db: str | None = None,
    index_options: dict[str, Any] | None = None,
    limit: int | None = None,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    sample: int | None = None,
    seed: int = 0,
    judge: str | None = None,
    subtitles: str | None = None,
) -> EvalReport:
    items, problems = read_jsonl(path)
    run: dict[str, Any] = {
        "vagent": __version__,
        "questions": str(path),
        "sha256": sha256_of(path),
        "annotations": annotations_of(path),
        "items_in_file": len(items),
        "limit": limit,
        "sample": sample,
        "seed": seed,
        "subtitles": subtitles,
        "judge": judge,
    }
    items = select(items, limit, sample, seed)
    scorer: Judge | None = None
    if judge:
        from vagent import plugins

        scorer = plugins.registry().create(JUDGE, judge)
        run["judge"] = scorer.id
        run["judge_semantic"] = bool(getattr(scorer, "semantic", True))
    lib = Library.open(library, db=db)
    index_options = dict(index_options or {})
    problems += check_subtitles(lib, items, subtitles, index_options)
    items, missing = ensure_indexed(lib, items, index_options, progress)
    problems += missing
    run["library"] = library_pins(lib)
    durations = {v.path: v.duration for v in lib.videos()} if lib.exists() else {}
    rows: list[dict[str, Any]] = []
    node_ms: dict[str, list[float]] = defaultdict(list)
    if not items:
        return _report(rows, node_ms, "none", problems, path, run)
    with Agent.open(lib, answerer=answerer, planner=planner, checkpoint=False) as agent:
        run["answerer"] = agent.ctx.answerer.id
        run["planner"] = getattr(agent.ctx.planner, "id", type(agent.ctx.planner).__name__)
        run["agent"] = dict(agent.ctx.config.__dict__)
        for it in items:
            t0 = time.perf_counter()
            try:
                # a benchmark scores every item: unsupported answers are forced, as guesses
                # the item's options are final (read leniently): lettered afresh, the agent's
                # strict reading strips exactly those letters and asks them as written
                opts = labelled(it.options) if it.options else None
                res = agent.ask(
                    it.question, opts, videos=[str(Path(it.video).resolve())], guess=True
                )
            except VagentError as exc:
                problems.append(Problem(it.line, str(exc)))
                continue
            totals: dict[str, float] = defaultdict(float)
            for n in res.trace["nodes"]:
                totals[n["node"]] += n["ms"]
            for k, v in totals.items():
                node_ms[k].append(v)
            node_ms["total"].append((time.perf_counter() - t0) * 1000.0)
            video = str(Path(it.video).resolve())
            score = None
            if is_open(it) and scorer is not None:
                try:
                    points = it.scoring_points or ()
                    score = float(scorer.score(it.question, it.answer, res.answer, points))
                except Exception as exc:  # a judge plugin's failure costs only its item
                    problems.append(Problem(it.line, f"judge {scorer.id} failed: {exc}"))
            row = {
                "line": it.line,
                "qid": it.qid,
                "video": it.video,
                "question": it.question,
                "expected": it.answer,
                "answer": res.answer,
                "choice": res.choice,
                "correct": is_correct(it, res.choice, res.answer),
                "guessed": res.guessed,
                "category": it.category or "none",
                "length": length_bucket(it.duration or durations.get(video), it.length),
                "benchmark": it.benchmark,
                "group": it.length,
                "types": it.types,
                "open": is_open(it),
                "score": score,
                "judge": scorer.id if score is not None and scorer is not None else None,
                "defect": it.defect,
                "citations": [c._asdict() for c in res.citations],
            }
            rows.append(row)
            if on_result is not None:
                on_result(row)
        return _report(rows, node_ms, agent.ctx.answerer.id, problems, path, run)


def _report(
    rows: list[dict[str, Any]],
    node_ms: dict[str, list[float]],
    answerer: str,
    problems: list[Problem],
    path: str | Path,
    run: dict[str, Any],
) -> EvalReport:
    scored = [r for r in rows if r["correct"] is not None]
    correct = sum(r["correct"] for r in scored)
    names = {r["benchmark"] for r in rows}
    name = names.pop() if len(names) == 1 else None
    return EvalReport(
        accuracy=round(correct / len(scored), 4) if scored else None,
        n=len(scored),
        correct=correct,
        by_category=_group(scored, "category"),
        by_length=_group(scored, "length"),
        latency_ms={k: percentiles(v) for k, v in node_ms.items()},
        answerer=answerer,
        problems=[f"{p.file or path}:{p.line}: {p.reason}" for p in problems],
        results=rows,
        benchmark=benchmark_table(name, rows) if name in GROUPING else None,
        open=open_summary(rows),
        defects=sum(bool(r["defect"]) for r in rows),
        run=run,
    )


def table_lines(report: EvalReport) -> list[str]:
    """The text lines ``vagent eval`` prints after its accuracy: the benchmark's own table,
    open answers, defects and what the run is reproducible from."""
    lines: list[str] = []
    t = report.benchmark
    if t is not None:
        overall = "n/a" if t["overall"] is None else f"{t['overall']:.3f}"
        lines.append(f"{t['benchmark']}: {t['metric']} {overall}")
        for by, groups in ((t["group_by"], t["groups"]), ("sub_task", t.get("sub_tasks", {}))):
            for k, v in groups.items():
                acc = "n/a" if v["accuracy"] is None else f"{v['accuracy']:.3f}"
                lines.append(f"  {by:<14} {k:<28} {acc}  ({v['correct']}/{v['n']})")
        if t.get("note"):
            lines.append(f"  note: {t['note']}")
    for task, v in report.open.items():
        mean = "not scored (no --judge)" if v["mean_score"] is None else f"{v['mean_score']:.3f}"
        if v.get("judge"):
            lexical = "" if report.run.get("judge_semantic", True) else ", not a meaning judge"
            mean += f" by {v['judge']}{lexical}"
        lines.append(f"  open {task:<23} {v['n']} answers, {v['scored']} judged: {mean}")
    if report.defects:
        lines.append(f"  {report.defects} items with data defects counted as official scoring does")
    run = report.run
    if run:
        lines.append(
            f"run: vagent {run['vagent']}, questions sha256 {run['sha256'][:16]}..., seed "
            f"{run['seed']}, sample {run['sample']}, limit {run['limit']}"
        )
    return lines
