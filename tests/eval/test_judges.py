"""The built-in lexical judges: what counts as the same words, and partial credit."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from vagent import plugins
from vagent.cli import cli
from vagent.components import JUDGE


def test_exact_ignores_case_punctuation_and_articles() -> None:
    exact = plugins.registry().create(JUDGE, "exact")
    assert exact.score("q", "The loaf of bread.", "loaf of BREAD") == 1.0
    assert exact.score("q", "The loaf of bread.", "a loaf of rye bread") == 0.0
    assert exact.score("q", "Ｃａｆé", "café!") == 1.0  # NFKC: full-width letters are letters


def test_f1_gives_partial_credit() -> None:
    f1 = plugins.registry().create(JUDGE, "f1")
    assert f1.score("q", "three spoons of salt", "three spoons of salt") == 1.0
    # 2 of 4 reference words in a 2-word answer: precision 1, recall 0.5
    assert f1.score("q", "three spoons of salt", "spoons, salt") == pytest.approx(2 / 3)
    assert f1.score("q", "three spoons of salt", "") == 0.0
    assert f1.score("q", "three spoons of salt", "a red car") == 0.0


def test_eval_help_lists_the_builtin_judges() -> None:
    from vagent.components import JUDGE

    names = plugins.registry().names(JUDGE)
    assert {"exact", "f1"} <= set(names)
    res = CliRunner().invoke(cli, ["eval", "--help"], terminal_width=400)
    assert res.exit_code == 0, res.output
    line = " ".join(res.stdout.split())
    assert "Available judges: " + ", ".join(names) in line, res.stdout
