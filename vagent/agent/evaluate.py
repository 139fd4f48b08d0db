"""``vagent eval``: run the agent over a JSONL of questions and score it.

Each item is asked about its own video only (the search is restricted to it). Multiple choice
is right when the chosen letter is the item's letter; an open answer is right when every
content word of the expected answer appears in it (stop words and case ignored). Accuracy is
reported overall, per category and per video-length bucket, with latency percentiles per node.
Every item is answered: where the evidence supports no answer the agent's guess is scored
(``guessed`` in the results). Videos the JSONL names that the library lacks are indexed first
(with the library's settings, or the given ones for a new library); a missing video or a failed
answer costs only its item.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vagent.agent.api import Agent
from vagent.errors import VagentError
from vagent.evaldata import EvalItem, Problem, length_bucket, read_jsonl
from vagent.library import Library
from vagent.text.lexical import tokens


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

    def to_dict(self, with_results: bool = True) -> dict[str, Any]:
        d = dict(self.__dict__)
        if not with_results:
            d.pop("results")
        return d


def holds_answer(expected: str, answer: str) -> bool:
    """Every content word of ``expected`` is in ``answer`` (and there is at least one)."""
    want = set(tokens(expected))
    return bool(want) and want <= set(tokens(answer))


def is_correct(item: EvalItem, choice: str | None, answer: str) -> bool:
    if item.options:
        return choice == item.answer
    return holds_answer(item.answer, answer)


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
) -> EvalReport:
    items, problems = read_jsonl(path)
    if limit is not None:
        items = items[:limit]
    lib = Library.open(library, db=db)
    items, missing = ensure_indexed(lib, items, index_options or {}, progress)
    problems += missing
    durations = {v.path: v.duration for v in lib.videos()} if lib.exists() else {}
    rows: list[dict[str, Any]] = []
    node_ms: dict[str, list[float]] = defaultdict(list)
    if not items:
        return _report(rows, node_ms, "none", problems, path)
    with Agent.open(lib, answerer=answerer, planner=planner, checkpoint=False) as agent:
        for it in items:
            t0 = time.perf_counter()
            try:
                # a benchmark scores every item: unsupported answers are forced, as guesses
                res = agent.ask(
                    it.question, it.options, videos=[str(Path(it.video).resolve())], guess=True
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
                "citations": [c._asdict() for c in res.citations],
            }
            rows.append(row)
            if on_result is not None:
                on_result(row)
        return _report(rows, node_ms, agent.ctx.answerer.id, problems, path)


def _report(
    rows: list[dict[str, Any]],
    node_ms: dict[str, list[float]],
    answerer: str,
    problems: list[Problem],
    path: str | Path,
) -> EvalReport:
    correct = sum(r["correct"] for r in rows)
    return EvalReport(
        accuracy=round(correct / len(rows), 4) if rows else None,
        n=len(rows),
        correct=correct,
        by_category=_group(rows, "category"),
        by_length=_group(rows, "length"),
        latency_ms={k: percentiles(v) for k, v in node_ms.items()},
        answerer=answerer,
        problems=[f"{p.file or path}:{p.line}: {p.reason}" for p in problems],
        results=rows,
    )
