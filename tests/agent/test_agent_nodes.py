"""The agent's nodes and planners alone, on plain data."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from vagent_planners.llm import LLMPlanner, parse_queries
from vagent_planners.rules import RulePlanner

from vagent.agent.nodes import after_verify
from vagent.agent.nodes.answer import refine
from vagent.agent.nodes.finish import why
from vagent.agent.nodes.select import allot_frames, choose_moments
from vagent.choices import labelled
from vagent.choices import parse as parse_options
from vagent.errors import VagentError
from vagent.timefmt import clock


def _hit(sid: int, start: float, score: float, video: int = 1) -> dict[str, Any]:
    return {
        "segment_id": sid,
        "video_id": video,
        "video": f"/v{video}.mp4",
        "start": start,
        "end": start + 10,
        "score": score,
        "frame_times": [start + 1],
    }


def test_select_trades_relevance_for_coverage() -> None:
    hits = [_hit(1, 100, 1.0), _hit(2, 110, 0.95), _hit(3, 120, 0.9), _hit(4, 500, 0.6)]
    relevance_only = [h["segment_id"] for h in choose_moments(hits, 2, 0.0, None)]
    covered = [h["segment_id"] for h in choose_moments(hits, 2, 0.5, None)]
    assert relevance_only == [1, 2]
    assert covered == [1, 3]  # the adjacent near-duplicate gives way to a moment further off
    other_video = [_hit(1, 100, 1.0), _hit(2, 110, 0.95, video=2)]
    assert [h["segment_id"] for h in choose_moments(other_video, 2, 0.5, None)] == [1, 2]


def test_frames_are_allotted_within_budget_best_first_and_spread() -> None:
    chosen = [_hit(1, 0, 1.0), _hit(2, 10, 0.5)]
    times = {1: [0.0, 1.0, 2.0, 3.0, 9.0], 2: [10.0, 11.0, 19.0]}
    allot_frames(chosen, times, 5)
    # best frame first, then round-robin, each new frame the farthest from those already held
    assert chosen[0]["frame_times"] == [1.0, 3.0, 9.0]
    assert chosen[1]["frame_times"] == [11.0, 19.0]
    tight = [_hit(1, 0, 1.0), _hit(2, 10, 0.5), _hit(3, 20, 0.2)]
    allot_frames(tight, times, 2)
    assert [len(h["frame_times"]) for h in tight] == [1, 1, 0]


def test_rule_planner_splits_on_time_words_conjunctions_and_options() -> None:
    p = RulePlanner()
    q = "What does the speaker write on the board after the coffee break?"
    out = p.plan(q, None, [])
    assert out[0] == q
    assert "What does the speaker write on the board" in out and "the coffee break" in out
    out = p.plan('Who says "open the pod bay doors" and who answers?', None, [])
    assert "open the pod bay doors" in out
    out = p.plan("Which colour is the car?", ["red", "blue"], [])
    assert "colour car red" in out and "colour car blue" in out
    follow = p.plan("and then?", None, [{"question": "Who arrives first?", "answer": "Ann"}])
    assert "Who arrives first? and then?" in follow


class _Talker:
    def __init__(self, text: str | None) -> None:
        self.text = text
        self.prompts: list[str] = []

    def complete(self, prompt: str, max_new_tokens: int = 64) -> str | None:
        self.prompts.append(prompt)
        return self.text


def test_llm_planner_adds_model_queries_and_falls_back_to_rules() -> None:
    q = "What is written on the whiteboard?"
    talker = _Talker("1. whiteboard text\n- marker writing\n\n" + q + "\nTake a walk\n" + "x " * 20)
    out = LLMPlanner(talker).plan(q, None, [{"question": "Who talks?", "answer": "Bo"}])
    assert out[:2] == [q, "whiteboard text"]  # unrelated lines ("Take a walk") are dropped
    assert "marker writing" not in out and "Take a walk" not in out
    assert "Earlier: Who talks? -> Bo" in talker.prompts[0]
    assert LLMPlanner(_Talker(None)).plan(q, None, []) == RulePlanner().plan(q, None, [])
    assert parse_queries('"a"\n2) b c\n', "q") == ["a", "b c"]


def test_verify_routing_and_refinement() -> None:
    assert after_verify({"done": True}) == "finish"
    assert after_verify({"done": False}) == "retrieve"
    state = {"question": "Which car?", "options": ["red", "blue"], "queries": ["Which car?"]}
    assert refine(state, {"text": "A) red"}) == ["Which car? red", "Which car? blue"]
    span = {"source": "subtitle", "start": 1.0, "end": 2.0, "text": "Marco cooks the pasta"}
    state = {
        "question": "Who cooks?",
        "options": None,
        "queries": ["Who cooks?"],
        "evidence": [{"texts": [span], "channels": ["text"], "score": 1.0}],
    }
    # from the question and the evidence, never from the draft's words
    assert refine(state, {"text": "the chef Giuseppe"}) == ["Who cooks? marco pasta", "cooks"]
    state["evidence"] = []
    assert refine(state, {"text": "the chef Giuseppe"}) == ["cooks"]
    state["searched"] = ["cooks"]
    assert refine(state, {"text": "the chef Giuseppe"}) == []  # nothing new: no more rounds


def test_options_and_citation_text() -> None:
    assert parse_options(["(A) red", "(B) blue"]) == ["red", "blue"]
    assert parse_options(["red", "blue"]) == ["red", "blue"]
    assert labelled(["red", "blue"]) == ["A) red", "B) blue"]
    with pytest.raises(VagentError, match="expected B"):
        parse_options(["A. red", "A. blue"])
    e = {
        "channels": ["text", "lexical"],
        "texts": [{"source": "subtitle", "start": 72.0, "text": "salt"}],
        "missing": True,
    }
    assert why(e) == 'found by text+lexical search; subtitle at 1:12: "salt"; source file missing'
    assert clock(3725) == "1:02:05"


def test_every_node_takes_and_returns_the_typed_state() -> None:
    from vagent.agent.context import AgentContext
    from vagent.agent.nodes import NODES
    from vagent.agent.state import QAState, Trace

    for name, node in NODES.items():
        hints = typing.get_type_hints(node)
        assert hints["state"] is QAState and hints["ctx"] is AgentContext, name
        assert hints["return"] == tuple[QAState, Trace], name
    assert typing.get_type_hints(after_verify)["state"] is QAState


def test_one_moment_from_hit_to_citation() -> None:
    from vagent.agent.nodes.finish import citation
    from vagent.agent.state import Cited
    from vagent.types import Evidence, Hit, Moment

    span = {"source": "subtitle", "start": 12.0, "end": 15.0, "text": "the parcel is blue"}
    hit = Hit("/v/a.mp4", 10.0, 20.0, 0.7, 5, 13.0, None, 2, channels=["text"], texts=[span])
    moment = Evidence.from_hit(hit).to_dict()
    assert set(moment) == Moment.__required_keys__
    assert moment["frame_times"] == [13.0] and moment["texts"] == [span]
    assert Evidence.from_dict(moment).to_dict() == moment
    # a moment of a thread checkpointed by an older vagent may lack the optional lists
    old = {k: v for k, v in moment.items() if k not in ("channels", "texts", "frame_times")}
    back = Evidence.from_dict(old)  # type: ignore[arg-type]
    assert (back.channels, back.texts, back.frame_times) == ([], [], [])
    cited = citation(moment)
    assert set(cited) == set(Cited.__annotations__)
    assert {k: cited[k] for k in ("video", "video_id", "segment_id", "start", "end")} == {  # type: ignore[literal-required]
        k: moment[k]
        for k in ("video", "video_id", "segment_id", "start", "end")  # type: ignore[literal-required]
    }
