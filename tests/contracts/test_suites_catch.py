"""The suites tell a component that keeps its contract from one that breaks it: each broken
test component fails exactly the check for the rule it breaks, its sound counterpart passes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.plugins import broken
from tests.plugins.colour import ColourEncoder
from tests.plugins.judge import WordJudge
from tests.plugins.scripted import Scripted
from vagent import plugins
from vagent.components import DECODER
from vagent.testing import run_contract


def pyav(tmp: Path) -> Any:
    return plugins.registry().create(DECODER, "pyav")


CASES: list[tuple[str, Callable[[Path], Any], Callable[[Path], Any], dict[str, str]]] = [
    # kind, sound, broken, {failing check: words of its message}
    (
        "segmenter",
        lambda tmp: plugins.registry().create("segmenter", "fixed", seconds=10.0),
        lambda tmp: broken.GappyWindows(),
        {"test_returns_a_partition_of_the_frames_covering_the_video": "segments end at 10.0"},
    ),
    (
        "visual_encoder",
        lambda tmp: ColourEncoder(),
        lambda tmp: broken.LoudColour(),
        {"test_images_of_any_size_to_unit_rows": "row norms"},
    ),
    (
        "decoder",
        pyav,
        lambda tmp: broken.RawErrors(pyav(tmp)),
        {"test_probe_refuses_what_is_not_a_video": "raised ValueError"},
    ),
    (
        "index",
        lambda tmp: broken.NumpyIndex(32),
        lambda tmp: broken.NumpyIndex(32, miscount=True),
        {"test_ids_survive_add_remove_replace_save_load": "were present"},
    ),
    (
        "answerer",
        lambda tmp: Scripted(),
        lambda tmp: broken.Backwards(),
        {"test_one_draft_per_question_in_order": "2 option scores for 3 options"},
    ),
    (
        "planner",
        lambda tmp: plugins.registry().create("planner", "rules"),
        lambda tmp: broken.NoQueries(),
        {"test_at_least_one_query": "is not a non-empty list"},
    ),
    (
        "judge",
        lambda tmp: WordJudge(),
        lambda tmp: broken.Generous(),
        {"test_scores_are_floats_in_zero_to_one": "score 2.0"},
    ),
]


@pytest.mark.parametrize(("kind", "sound", "bad", "fails"), CASES, ids=[c[0] for c in CASES])
def test_the_suite_fails_the_broken_one_only(
    kind: str,
    sound: Callable[[Path], Any],
    bad: Callable[[Path], Any],
    fails: dict[str, str],
) -> None:
    good = run_contract(kind, sound)
    assert good.ok, good.lines()
    report = run_contract(kind, bad)
    failed = {o.check: o.message for o in report.failed}
    assert set(failed) == set(fails), report.lines()
    for check, words in fails.items():
        assert words in failed[check] and f"{kind} contract" in failed[check], failed[check]
