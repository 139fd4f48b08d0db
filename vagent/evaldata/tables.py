"""Each benchmark's own result table, from ``vagent eval``'s per-item rows.

A row holds ``correct`` (True/False; None for an open answer nobody scored), ``score`` (a
judge's 0-1 score of an open answer, else None), ``category``, ``types`` (LVBench), ``group``
(the benchmark's own length label) and ``open``. The shapes follow the papers/leaderboards:

- MLVU: accuracy per multiple-choice task and M-Avg, their mean; the open tasks
  (8_sub_scene, 9_summary) apart, with the judge's mean score when one is configured.
- Video-MME: accuracy by short/medium/long and overall (one subtitle setting per run).
- LongVideoBench: accuracy by ``duration_group`` (15, 60, 600, 3600 s) and overall.
- LVBench: accuracy per question type (an item counts in each of its types) and overall.
- EgoSchema: overall accuracy.
- CinePile: accuracy per question category and overall (``types`` marks the hard split).
- HourVideo: accuracy per task (summarization, perception, visual reasoning, navigation) and
  per sub-task (``sub_tasks``), and overall over all questions, as its paper's table.
- E.T.Bench: accuracy per multiple-choice task (RAR, ECA, RVQ, GVQ) and overall; GVQ's
  grounding half (its recall) is not measured.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

# benchmark -> (what its groups are, their order; None for sorted)
GROUPING: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "mlvu": ("task", None),
    "videomme": ("duration", ("short", "medium", "long")),
    "longvideobench": ("duration_group", ("15", "60", "600", "3600")),
    "lvbench": ("question_type", None),
    "egoschema": ("overall", ()),
    "cinepile": ("question_category", None),
    "hourvideo": ("task_category", ("summarization", "perception", "reasoning", "navigation")),
    "etbench": ("task", ("rar", "eca", "rvq", "gvq")),
}


def _acc(values: list[bool]) -> dict[str, Any]:
    n = len(values)
    return {"n": n, "correct": sum(values), "accuracy": round(sum(values) / n, 4) if n else None}


def _keys(row: dict[str, Any], by: str) -> Iterable[str]:
    if by in ("task", "question_category"):
        return [row.get("category") or "none"]
    if by == "question_type":
        return row.get("types") or [row.get("category") or "none"]
    if by == "task_category":  # HourVideo: the first part of its task path
        return [str(row.get("category") or "none").split("/")[0]]
    if by == "overall":
        return []
    return [row.get("group") or "unknown"]


def benchmark_table(benchmark: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The benchmark's table: ``metric``, ``overall``, ``group_by``, ``groups``, ``open``."""
    by, order = GROUPING[benchmark]
    choice = [r for r in rows if not r.get("open")]
    groups: dict[str, list[bool]] = defaultdict(list)
    for r in choice:
        for k in _keys(r, by):
            groups[k].append(bool(r["correct"]))
    names = [k for k in order if k in groups] if order else sorted(groups)
    names += sorted(k for k in groups if k not in names)
    table: dict[str, Any] = {"benchmark": benchmark, "group_by": by}
    table["groups"] = {k: _acc(groups[k]) for k in names}
    overall = _acc([bool(r["correct"]) for r in choice])
    if benchmark == "mlvu":
        accs = [sum(v) / len(v) for v in groups.values() if v]
        table["metric"] = "M-Avg (mean of the multiple-choice tasks' accuracies)"
        table["overall"] = round(sum(accs) / len(accs), 4) if accs else None
        table["multiple_choice"] = overall
    else:
        table["metric"] = "accuracy"
        table["overall"] = overall["accuracy"]
        table["multiple_choice"] = overall
    if benchmark == "cinepile":
        table["hard_split"] = _acc([bool(r["correct"]) for r in choice if r.get("types")])
    if benchmark == "hourvideo":
        subs: dict[str, list[bool]] = defaultdict(list)
        for r in choice:
            subs[r.get("category") or "none"].append(bool(r["correct"]))
        table["sub_tasks"] = {k: _acc(v) for k, v in sorted(subs.items())}
    if benchmark == "etbench":
        table["note"] = "GVQ: answer accuracy only (its official score also grounds it in time)"
    table["open"] = open_summary(rows)
    return table


def open_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Open answers per task: how many, how many a judge scored, their mean score, and (when
    the rows name one) the judge that scored them."""
    tasks: dict[str, list[float | None]] = defaultdict(list)
    judges: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r.get("open"):
            task = r.get("category") or "none"
            tasks[task].append(r.get("score"))
            if r.get("judge") and r.get("score") is not None:
                judges[task].add(str(r["judge"]))
    out: dict[str, Any] = {}
    for k, scores in sorted(tasks.items()):
        got = [s for s in scores if s is not None]
        out[k] = {
            "n": len(scores),
            "scored": len(got),
            "mean_score": round(sum(got) / len(got), 4) if got else None,
        }
        if judges[k]:
            out[k]["judge"] = ", ".join(sorted(judges[k]))
    return out
