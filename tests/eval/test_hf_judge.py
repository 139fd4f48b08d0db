"""The built-in ``hf-judge``: a real transformers causal LM asked a fixed rubric, its grade read
by one rule (the most likely grade token 0-5, score = grade / 5). The model here is the tiny one
with random weights asked for by name, so its scores carry no meaning: it says semantic=False,
and these tests check the plumbing and the reading rule, never the quality of a grade."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import invoke_cli
from vagent import plugins
from vagent.components import JUDGE, Judge
from vagent.errors import ModelUnavailable

pytestmark = pytest.mark.slow  # loads torch and transformers

Q, REF = "What does the chef add after the break?", "Three spoons of salt."


@pytest.fixture(scope="module")
def tiny() -> Judge:
    return plugins.registry().create(JUDGE, "hf-judge/tiny-random")


def test_tiny_random_is_named_labelled_and_deterministic(tiny: Judge) -> None:
    assert tiny.id == "hf-judge/tiny-random" and tiny.semantic is False
    again = plugins.registry().create(JUDGE, "hf-judge/tiny-random")
    for answer in (REF, "A red car drives away.", "", "salt " * 2000):
        s = tiny.score(Q, REF, answer)
        assert s in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
        assert again.score(Q, REF, answer) == s  # same weights, greedy: same grade


def test_scoring_points_reach_the_prompt(tiny: Judge) -> None:
    from vagent_judges.hf import RUBRIC, HFJudge

    assert isinstance(tiny, HFJudge)
    bare = tiny.prompt(Q, REF, "salt")
    assert RUBRIC in bare and bare.endswith("Score:") and "Scoring points" not in bare
    pointed = tiny.prompt(Q, REF, "salt", ["names salt", "says three spoons"])
    assert "Scoring points:\n- names salt\n- says three spoons\nAnswer to grade: salt" in pointed
    assert "A" * 4000 + " ..." in tiny.prompt(Q, REF, "A" * 9000)  # each text cut, marked


def test_the_grade_is_the_grade_token_the_model_ranks_highest() -> None:
    import torch

    judge = plugins.registry().create(JUDGE, "hf-judge/tiny-random")
    from vagent_judges.hf import HFJudge

    assert isinstance(judge, HFJudge)
    head = judge.model.lm_head.weight
    ids = judge.tokenizer(judge.prompt(Q, REF, "salt"), return_tensors="pt").input_ids
    with torch.no_grad():
        hidden = judge.model.model(ids).last_hidden_state[0, -1]
        head.zero_()  # every token equally likely: the tie goes to the lowest grade
        assert judge.score(Q, REF, "salt") == 0.0
        head[judge.grade_ids[4][0]] = hidden  # grade 4's logit becomes |h|^2 > 0
    assert judge.grade(Q, REF, "salt") == 4 and judge.score(Q, REF, "salt") == 0.8


def test_a_local_folder_loads_offline_and_keeps_the_random_label(
    tiny: Judge, tmp_path: Path
) -> None:
    from vagent_judges.hf import HFJudge

    assert isinstance(tiny, HFJudge)
    folder = tmp_path / "judge-model"
    tiny.model.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    loaded = plugins.registry().create(JUDGE, f"hf-judge/{folder}")
    assert loaded.id == f"hf-judge/{folder}" and loaded.semantic is False
    for answer in (REF, "A red car drives away."):
        assert loaded.score(Q, REF, answer) == tiny.score(Q, REF, answer)


def test_a_judge_without_a_model_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="hf-judge needs a model"):
        plugins.registry().create(JUDGE, "hf-judge")
    with pytest.raises(ModelUnavailable, match="cannot load model"):
        plugins.registry().create(JUDGE, f"hf-judge/{tmp_path / 'empty'}-nothing-here")
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"video": "v.mp4", "question": "Why?", "answer": "because"}) + "\n")
    missing = tmp_path / "no-such-model"
    _, err = invoke_cli("eval", str(q), "-l", "x", "--judge", f"hf-judge/{missing}", code=2)
    assert err.count("\n") == 1 and "hf-judge: cannot load model" in err
    assert "Traceback" not in err and not list((tmp_path / "home").glob("**/catalog.db"))
