"""The agent end to end: the LangGraph graph over a real library (PyAV, FAISS, SQLite, MiniLM
on subtitles), with the real clip-choice answerer and the named ``scripted`` test answerer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import COOKING_SRT as SRT
from tests.conftest import using_plugins
from tests.plugins import colour, scripted
from vagent import Agent, AgentConfig, Library, plugins
from vagent.components import ANSWERER
from vagent.errors import AnswererFailed, EncoderMismatch, LibraryNotFound, VagentError
from vagent.synth import make_video


@pytest.fixture(autouse=True)
def _test_plugins() -> Iterator[None]:
    with using_plugins(colour, scripted):
        scripted.CALLS.clear()
        yield


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cooking")
    make_video(d / "cook.mp4", ["red", "green", "blue", "yellow", "white"], 10.0, size=(160, 120))
    (d / "cook.srt").write_text(SRT)
    make_video(d / "plain.mp4", ["blue"], 12.0, size=(160, 120))
    return d


@pytest.fixture
def lib(source: Path, tmp_path: Path) -> Library:
    d = tmp_path / "videos"
    d.mkdir()
    for f in source.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    lib = Library.open(tmp_path / "lib")
    report = lib.index([d], encoder="colour", text="subtitles", progress=False)
    assert report.ok and len(report.indexed) == 2
    return lib


def _segments(lib: Library) -> set[tuple[str, float, float]]:
    cat = lib.catalog
    segs = cat.segments_by_id(list(range(1, 1000)))
    paths = {v.id: v.path for v in lib.videos()}
    return {(paths[s.video_id], s.start, s.end) for s in segs.values()}


def test_open_question_is_answered_from_the_subtitle_and_cited(lib: Library) -> None:
    with Agent.open(lib, answerer="scripted", planner="rules") as agent:
        res = agent.ask("How much salt do we add after the break?")
    assert "three spoons of salt" in res.answer
    assert res.citations, "an answer without citations"
    first = res.citations[0]
    assert first.video.endswith("cook.mp4") and first.start <= 22.0 < first.end
    assert "subtitle" in first.why and "salt" in first.why
    real = _segments(lib)
    assert all((c.video, c.start, c.end) in real for c in res.citations)
    nodes = [n["node"] for n in res.trace["nodes"]]
    assert nodes == ["plan", "retrieve", "select", "gather", "answer", "verify", "finish"]
    assert res.trace["answerer"] == "scripted" and res.trace["answerer_reason"] == "asked for"


def test_multiple_choice_verifies_by_reshuffling(lib: Library) -> None:
    with Agent.open(lib, answerer="scripted", planner="rules") as agent:
        res = agent.ask(
            "What temperature must the oven reach?",
            ["A) one hundred", "B) two hundred degrees", "C) fifty"],
        )
    assert res.choice == "B" and res.answer.startswith("B)")
    verify = next(n for n in res.trace["nodes"] if n["node"] == "verify")
    assert verify["consistent"] is True
    asked = [q.options for q in scripted.CALLS]
    assert asked[0] == ["one hundred", "two hundred degrees", "fifty"]
    assert asked[1] == ["two hundred degrees", "fifty", "one hundred"]  # rotated re-ask
    assert any(c.start <= 41.0 < c.end for c in res.citations)


def test_low_confidence_loops_back_a_bounded_number_of_times(lib: Library) -> None:
    cfg = AgentConfig(refinements=2, threshold=0.5)
    with Agent.open(lib, answerer="scripted/unsure", planner="rules", config=cfg) as agent:
        res = agent.ask("What do we bake?")
    nodes = [n["node"] for n in res.trace["nodes"]]
    assert 2 <= nodes.count("retrieve") <= 3 and nodes.count("answer") == nodes.count("retrieve")
    assert res.trace["rounds"] == nodes.count("retrieve")
    refined = [n["refined"] for n in res.trace["nodes"] if n["node"] == "verify" and "refined" in n]
    assert 1 <= len(refined) <= 2 and all(refined)
    searched = [q for n in res.trace["nodes"] if n["node"] == "retrieve" for q in n["queries"]]
    texts = [q["query"].casefold() for q in searched]
    assert len(texts) == len(set(texts))  # a refinement never searches the same words again
    assert any("bread" in q for q in texts[1:])  # refined with the evidence's words
    assert "bread" in res.answer and res.confidence == 0.1  # the last draft is kept, not dropped


def test_clip_choice_answers_from_frames(lib: Library) -> None:
    with Agent.open(lib, answerer="clip-choice", planner="rules") as agent:
        res = agent.ask(
            "Which colour fills the screen?",
            ["A) red", "B) blue", "C) white"],
            videos=["plain.mp4"],
        )
        assert res.choice == "B"
        assert all(c.video.endswith("plain.mp4") for c in res.citations)
        gather = next(n for n in res.trace["nodes"] if n["node"] == "gather")
        assert gather["source"] == "frames" and gather["frames_decoded"] > 0
        with pytest.raises(AnswererFailed, match="multiple-choice questions only"):
            agent.ask("What is happening?")


def test_frames_are_decoded_at_the_chosen_times(lib: Library) -> None:
    cfg = AgentConfig(max_frames=6, max_segments=3)
    with Agent.open(lib, answerer="scripted/frames", planner="rules", config=cfg) as agent:
        res = agent.ask("the blue screen", videos=["plain.mp4"])
    q = scripted.CALLS[0]
    shapes = [e.frames.shape for e in q.evidence if e.frames is not None]
    assert shapes and sum(s[0] for s in shapes) <= 6
    assert all(s[1:] == (120, 160, 3) for s in shapes)
    for e in q.evidence:
        assert e.frames is not None and len(e.frames) == len(e.frame_times)
        assert all(e.start <= t < e.end for t in e.frame_times)
    assert res.trace["evidence"] == [e.to_dict() for e in q.evidence]


def test_follow_up_in_a_thread_sees_the_last_turn_across_agents(lib: Library) -> None:
    with Agent.open(lib, answerer="scripted", planner="rules") as agent:
        agent.ask("What do we bake?", thread_id="t1")
    with Agent.open(lib, answerer="scripted", planner="rules") as agent:
        res = agent.ask("and what about after that?", thread_id="t1")
        bread = "Welcome to the kitchen, today we bake bread"
        assert scripted.CALLS[-1].history == [{"question": "What do we bake?", "answer": bread}]
        assert "What do we bake? and what about after that?" in res.trace["queries"]
        turns = agent.history("t1")
        assert [t["question"] for t in turns] == ["What do we bake?", "and what about after that?"]
        assert agent.history("another") == []


def test_moved_source_is_named_and_the_answer_still_comes(lib: Library) -> None:
    video = next(v.path for v in lib.videos() if v.path.endswith("cook.mp4"))
    Path(video).rename(Path(video).with_name("elsewhere.mp4"))
    with Agent.open(lib, answerer="scripted/frames", planner="rules") as agent:
        res = agent.ask("How much salt do we add?")
    assert "salt" in res.answer
    assert res.missing_sources == [video]
    assert all(c.video == video for c in res.citations)
    assert any("source file missing" in c.why for c in res.citations)


def test_failures_are_one_line_and_leave_threads_readable(lib: Library) -> None:
    with Agent.open(lib, answerer="scripted", planner="rules") as agent:
        agent.ask("What do we bake?", thread_id="t")
    failing = Agent.open(lib, answerer="scripted/raise", planner="rules")
    with failing, pytest.raises(AnswererFailed, match=r"answerer 'scripted/raise' failed: .*explo"):
        failing.ask("What do we bake?", thread_id="t")
    cfg = AgentConfig(timeout_s=0.3)
    slow = Agent.open(lib, answerer="scripted/sleep", planner="rules", config=cfg)
    with slow, pytest.raises(AnswererFailed, match=r"no answer within 0\.3 s"):
        slow.ask("What do we bake?", thread_id="t")
    db = lib.root / "threads.sqlite"
    assert sqlite3.connect(db).execute("pragma integrity_check").fetchone() == ("ok",)
    with Agent.open(lib, answerer="scripted", planner="rules") as agent:
        res = agent.ask("What do we bake?", thread_id="t")
        assert "bread" in res.answer
        assert len(agent.history("t")) == 2


def test_bad_questions_and_libraries(lib: Library, tmp_path: Path) -> None:
    with Agent.open(lib, answerer="scripted", planner="rules") as agent:
        with pytest.raises(VagentError, match="question is empty"):
            agent.ask("   ")
        for bad, why in [
            (["A) red"], "at least two"),
            (["A) red", "C) blue"], "expected B"),
            (["red", ""], "option B is empty"),
            (["red", "Red"], "are the same"),
        ]:
            with pytest.raises(VagentError, match=why):
                agent.ask("Which colour?", bad)
    with pytest.raises(LibraryNotFound, match="index videos first"):
        Agent.open(tmp_path / "nothing-here", answerer="scripted")
    with pytest.raises(EncoderMismatch, match="some-other-space"):
        Agent.open(lib, answerer="scripted/space")


def test_default_answerer_is_reported_in_the_trace(lib: Library) -> None:
    from vagent.agent.choose import default_answerer

    name, why = default_answerer(plugins.registry())
    assert name in plugins.registry().names(ANSWERER) or name.startswith("hf-vlm/")
    assert why


def test_a_moment_keeps_its_shape_from_search_to_thread(lib: Library) -> None:
    """Hits and evidence are ``Moment``s, the thread keeps ``Cited`` ones, and the caller's
    citations are read from those."""
    from vagent.agent.api import Citation
    from vagent.agent.state import Cited
    from vagent.types import Evidence, Moment

    with Agent.open(lib, answerer="scripted", planner="rules") as agent:
        res = agent.ask("How much salt do we add after the break?", thread_id="m1")
        turns = agent.history("m1")
    assert res.trace["evidence"]
    for m in res.trace["evidence"]:
        assert Moment.__required_keys__ <= set(m) <= set(Moment.__annotations__)
        assert Evidence.from_dict(m).to_dict() == {k: v for k, v in m.items() if k != "kv"}
    [turn] = turns
    assert turn["citations"] and all(
        set(c) == set(Cited.__annotations__) for c in turn["citations"]
    )
    assert [Citation.of(c) for c in turn["citations"]] == res.citations
    assert res.to_dict()["citations"] == turn["citations"]  # --json shows what the thread keeps
    kept = {(c["video"], c["start"], c["end"]) for c in turn["citations"]}
    assert kept <= {(m["video"], m["start"], m["end"]) for m in res.trace["evidence"]}
