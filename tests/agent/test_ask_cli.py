"""`vagent ask` and `vagent eval` from the shell: JSON shapes, option syntax, bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import invoke_cli as _run
from tests.conftest import town_clips

SRT = "1\n00:00:12,000 --> 00:00:15,000\nThe parcel is delivered to the blue house\n"


pytestmark = pytest.mark.usefixtures("colour_scripted")


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    d = town_clips(tmp_path / "clips")
    (d / "street.srt").write_text(SRT)
    return d


def test_ask_json_has_answer_citations_and_trace(clips: Path) -> None:
    _run("index", str(clips), "-l", "town", "--encoder", "colour", "--text", "subtitles")
    out, _ = _run(
        "ask", "Where is the parcel delivered?", "-l", "town", "--answerer", "scripted", "--json"
    )
    res = json.loads(out)
    assert "blue house" in res["answer"]
    cite = res["citations"][0]
    assert cite["name"] == "street.mp4" and cite["start"] <= 12.0 < cite["end"]
    assert {"video", "start", "end", "why"} <= set(cite)
    assert res["trace"]["answerer"] == "scripted"
    assert [n["node"] for n in res["trace"]["nodes"]][-1] == "finish"

    out, _ = _run(
        "ask", "Which house?", "--options", "A) red house", "B) blue house", "-l", "town",
        "--answerer", "scripted", "--json",
    )  # fmt: skip
    res = json.loads(out)
    assert res["answer"].startswith("B)") and res["choice"] == "B"

    out, err = _run("ask", "Where is the parcel?", "-l", "town", "--answerer", "scripted", "-v")
    assert "[street.mp4 0:10-0:20]" in out and "agent overhead" in out and "thread:" in err


def test_ask_errors_are_one_line(clips: Path) -> None:
    _, err = _run("ask", "what?", "-l", "nowhere", "--answerer", "scripted", code=2)
    assert err.startswith("error: no library 'nowhere'") and err.count("\n") == 1
    _run("index", str(clips), "-l", "town", "--encoder", "colour", "--text", "none")
    _, err = _run("ask", "which", "red", "blue", "-l", "town", "--answerer", "scripted", code=2)
    assert "pass --options" in err
    _, err = _run("ask", "which", "--options", "A) x", "-l", "town", "--answerer", "nope", code=2)
    assert "error:" in err and "Traceback" not in err
    _, err = _run("ask", "what", "-l", "town", "--answerer", "scripted/raise", code=2)
    assert "answerer 'scripted/raise' failed" in err and err.count("\n") == 1


def test_eval_scores_by_category_and_length_and_reports_bad_lines(clips: Path) -> None:
    lines = [
        {"video": "street.mp4", "question": "Which house gets the parcel?",
         "options": ["red house", "blue house"], "answer": "B", "category": "delivery"},
        {"video": "street.mp4", "question": "Where is the parcel delivered?",
         "answer": "the blue house", "category": "delivery"},
        {"video": "field.mp4", "question": "Which house gets the parcel?",
         "options": ["A) red house", "B) blue house"], "answer": "B", "category": "trick"},
        {"video": "gone.mp4", "question": "q?", "answer": "x"},
    ]  # fmt: skip
    text = "\n".join(json.dumps(x) for x in lines[:2]) + "\n{not json\n"
    text += "\n".join(json.dumps(x) for x in lines[2:]) + "\n"
    q = clips / "questions.jsonl"
    q.write_text(text)
    out, err = _run(
        "eval", str(q), "-l", "bench", "--answerer", "scripted", "--encoder", "colour",
        "--text", "subtitles", "--json", code=1,
    )  # fmt: skip
    rep = json.loads(out)
    assert rep["n"] == 3 and rep["correct"] == 2 and rep["accuracy"] == pytest.approx(2 / 3, 1e-3)
    assert rep["by_category"]["delivery"] == {"n": 2, "correct": 2, "accuracy": 1.0}
    assert rep["by_category"]["trick"]["correct"] == 0
    assert set(rep["by_length"]) == {"<2 min"}
    assert {"plan", "retrieve", "answer", "total"} <= set(rep["latency_ms"])
    assert rep["latency_ms"]["retrieve"]["p50"] > 0
    assert any(":3:" in p for p in rep["problems"])  # the broken line, by number
    assert any(":5: video not found" in p for p in rep["problems"])
    assert "problem:" in err
    # the library now holds both videos: a second run indexes nothing new
    out, _ = _run("eval", str(q), "-l", "bench", "--answerer", "scripted", "--json", code=1)
    assert json.loads(out)["n"] == 3


def test_eval_asks_a_data_sets_options_as_written(clips: Path) -> None:
    """A data set's options lettered only in part are kept as written (``vagent.choices``): the
    answerer is asked exactly those texts, not texts stripped by a second, stricter reading."""
    from tests.plugins import scripted

    item = {"video": "street.mp4", "question": "Which house gets the parcel?",
            "options": ["A) red house", "blue house"], "answer": "B"}  # fmt: skip
    q = clips / "questions.jsonl"
    q.write_text(json.dumps(item) + "\n")
    scripted.CALLS.clear()
    out, _ = _run(
        "eval", str(q), "-l", "bench", "--answerer", "scripted", "--encoder", "colour",
        "--text", "subtitles", "--json",
    )  # fmt: skip
    rep = json.loads(out)
    assert rep["n"] == 1 and rep["problems"] == []
    assert scripted.CALLS[0].options == ["A) red house", "blue house"]
    assert all(sorted(c.options or []) == ["A) red house", "blue house"] for c in scripted.CALLS)
