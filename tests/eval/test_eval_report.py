"""`vagent eval` in each benchmark's own table shape: MLVU M-Avg with open tasks apart (judged
only by a judge plugin), LVBench by question type, LongVideoBench by duration group, defects
counted wrong, stable --sample/--seed, and the run's reproducibility record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import invoke_cli as _run
from tests.plugins import colour, judge, scripted
from vagent import __version__, plugins
from vagent.agent.evaluate import select
from vagent.evaldata import EvalItem
from vagent.evaldata.tables import benchmark_table
from vagent.synth import make_video

SRT = "1\n00:00:12,000 --> 00:00:15,000\nThe parcel is delivered to the blue house\n"


def _row(correct: bool | None, **kw: Any) -> dict[str, Any]:
    return {"correct": correct, "open": correct is None, "score": None, **kw}


def test_mlvu_m_avg_is_the_mean_of_task_accuracies_open_tasks_apart() -> None:
    rows = [
        _row(True, category="plotQA"),
        _row(False, category="plotQA"),
        _row(False, category="plotQA", defect="answer 'A dog' is not among the options"),
        _row(True, category="count"),
        _row(None, category="summary"),
        _row(None, category="subPlot", score=0.5),
        _row(None, category="subPlot"),
    ]
    t = benchmark_table("mlvu", rows)
    assert t["groups"]["plotQA"] == {"n": 3, "correct": 1, "accuracy": 0.3333}
    assert t["groups"]["count"] == {"n": 1, "correct": 1, "accuracy": 1.0}
    assert t["overall"] == round((1 / 3 + 1.0) / 2, 4)  # M-Avg, not 2/4 pooled
    assert t["multiple_choice"]["accuracy"] == 0.5
    assert set(t["groups"]) == {"plotQA", "count"}
    assert t["open"] == {
        "subPlot": {"n": 2, "scored": 1, "mean_score": 0.5},
        "summary": {"n": 1, "scored": 0, "mean_score": None},
    }


def test_lvbench_counts_an_item_in_each_of_its_types_and_lvb_orders_groups() -> None:
    rows = [
        _row(True, types=["entity recognition", "key information retrieval"]),
        _row(False, types=["entity recognition"]),
    ]
    t = benchmark_table("lvbench", rows)
    assert t["groups"] == {
        "entity recognition": {"n": 2, "correct": 1, "accuracy": 0.5},
        "key information retrieval": {"n": 1, "correct": 1, "accuracy": 1.0},
    }
    assert t["overall"] == 0.5  # items, not type memberships
    rows = [_row(True, group=g) for g in ("3600", "15", "600", "60", "15")]
    t = benchmark_table("longvideobench", rows)
    assert list(t["groups"]) == ["15", "60", "600", "3600"] and t["groups"]["15"]["n"] == 2
    t = benchmark_table("videomme", [_row(True, group="long"), _row(False, group="short")])
    assert list(t["groups"]) == ["short", "long"] and t["overall"] == 0.5


def test_sample_and_limit_are_stable() -> None:
    items = [EvalItem(video="v.mp4", question=f"q{i}", answer="x", qid=str(i)) for i in range(50)]
    a = [i.qid for i in select(items, None, 10, 7)]
    assert a == [i.qid for i in select(list(items), None, 10, 7)]
    assert a == sorted(a, key=int) and len(set(a)) == 10
    assert a != [i.qid for i in select(items, None, 10, 8)]
    assert [i.qid for i in select(items, 3, 10, 7)] == a[:3]
    assert [i.qid for i in select(items, 2, None, 0)] == ["0", "1"]
    assert len(select(items, None, 500, 0)) == 50


@pytest.fixture(autouse=True)
def _test_plugins() -> Iterator[None]:
    for name, mod in (("testcolour", colour), ("testscripted", scripted), ("testjudge", judge)):
        plugins.add_plugin(name, mod)
    yield
    for name in ("testjudge", "testscripted", "testcolour"):
        plugins.remove_plugin(name)


def test_eval_mlvu_json_table_open_answers_defects_and_run(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    make_video(clips / "street.mp4", ["red", "blue"], 10.0, size=(160, 120))
    (clips / "street.srt").write_text(SRT)
    mc = {"video": "street.mp4", "question": "Which house gets the parcel?",
          "options": ["red house", "blue house"], "benchmark": "mlvu"}  # fmt: skip
    lines = [
        {**mc, "answer": "B", "category": "plotQA", "qid": "1_plotQA/0"},
        {**mc, "answer": "", "category": "plotQA", "qid": "1_plotQA/1",
         "defect": "answer 'A dog' is not among the options; counted as wrong"},
        {**mc, "answer": "B", "category": "count", "qid": "4_count/0"},
        {"video": "street.mp4", "question": "Where is the parcel delivered?",
         "answer": "the blue house", "category": "summary", "qid": "9_summary/0",
         "benchmark": "mlvu", "scoring_points": ["parcel delivered", "a red van"]},
    ]  # fmt: skip
    q = clips / "mlvu.jsonl"
    head = "# vagent 0.1.0 convert mlvu\n# annotation abc123 /data/MLVU/json/1_plotQA.json\n"
    q.write_text(head + "".join(json.dumps(x) + "\n" for x in lines))
    args = ["eval", str(q), "-l", "mlvu", "--answerer", "scripted", "--json"]
    out, _ = _run(*args, "--encoder", "colour", "--text", "subtitles", "--subtitles", "with")
    rep = json.loads(out)
    t = rep["benchmark"]
    assert t["benchmark"] == "mlvu" and t["group_by"] == "task"
    assert t["groups"]["plotQA"] == {"n": 2, "correct": 1, "accuracy": 0.5}  # defect: wrong
    assert t["groups"]["count"]["accuracy"] == 1.0
    assert t["overall"] == 0.75  # M-Avg: (0.5 + 1.0) / 2, not 2/3 pooled
    assert rep["open"] == {"summary": {"n": 1, "scored": 0, "mean_score": None}}
    assert rep["n"] == 3 and rep["correct"] == 2 and rep["defects"] == 1  # open: not in n
    run = rep["run"]
    assert run["vagent"] == __version__ and run["seed"] == 0 and run["judge"] is None
    assert run["sha256"] == hashlib.sha256(q.read_bytes()).hexdigest()
    assert run["annotations"] == [{"sha256": "abc123", "file": "/data/MLVU/json/1_plotQA.json"}]
    assert run["answerer"] == "scripted" and run["planner"] and run["agent"]["k"] > 0
    assert run["library"]["encoder"].startswith("colour")
    assert run["library"]["text_sources"] == "subtitles" and run["subtitles"] == "with"

    picked = []
    for n in (1, 2):
        res = tmp_path / f"results{n}.jsonl"
        out, _ = _run(*args, "--sample", "2", "--seed", "3", "--out", str(res))
        assert json.loads(out)["run"]["sample"] == 2
        picked.append([json.loads(x)["qid"] for x in res.read_text().splitlines()])
    assert picked[0] == picked[1] and len(picked[0]) == 2
    res = tmp_path / "judged.jsonl"
    out, _ = _run(*args, "--judge", "wordjudge", "--out", str(res))
    summary = json.loads(out)["open"]["summary"]
    assert summary["scored"] == 1 and 0.0 <= summary["mean_score"] <= 1.0
    # the judge got the item's scoring points (one of two covered), and names itself
    assert summary["mean_score"] == 0.5 and summary["judge"] == "wordjudge"
    assert json.loads(out)["run"]["judge_semantic"] is False
    judged = [json.loads(x) for x in res.read_text().splitlines()]
    assert [r["judge"] for r in judged if r["score"] is not None] == ["wordjudge"]
    assert all(r["judge"] is None for r in judged if r["score"] is None)
    text, _ = _run("eval", str(q), "-l", "mlvu", "--answerer", "scripted", "--judge", "wordjudge")
    assert "0.500 by wordjudge, not a meaning judge" in text

    _, err = _run(*args, "--subtitles", "without", code=2)
    assert "indexes subtitles" in err and err.count("\n") == 1
    _, err = _run(*args, "-l", "fresh", "--text", "ocr", "--subtitles", "with", code=2)
    assert "contradicts --text" in err and err.count("\n") == 1

    text, _ = _run("eval", str(q), "-l", "mlvu", "--answerer", "scripted")
    assert "mlvu: M-Avg (mean of the multiple-choice tasks' accuracies) 0.750" in text
    assert "open summary" in text and "not scored (no --judge)" in text
    assert "1 items with data defects" in text and "questions sha256" in text


def test_text_table_shows_hourvideo_sub_tasks_and_etbench_note() -> None:
    from vagent.agent.evaluate import EvalReport, table_lines

    rows = [
        _row(True, category="reasoning/causal"),
        _row(False, category="reasoning/spatial/proximity"),
        _row(True, category="navigation/room_to_room"),
    ]
    rep = EvalReport(None, 3, 2, {}, {}, {}, "x", benchmark=benchmark_table("hourvideo", rows))
    lines = table_lines(rep)
    assert lines[0] == "hourvideo: accuracy 0.667"
    assert any(line.split()[:3] == ["task_category", "reasoning", "0.500"] for line in lines)
    assert any(line.split()[:3] == ["sub_task", "reasoning/causal", "1.000"] for line in lines)
    t = benchmark_table("etbench", [_row(True, category="gvq")])
    lines = table_lines(EvalReport(None, 1, 1, {}, {}, {}, "x", benchmark=t))
    assert lines[-1].startswith("  note: GVQ: answer accuracy only")
