"""Built-in judges of open answers; none is on unless ``vagent eval --judge ID`` names it.

``exact`` scores 1 when the answer and the reference are the same words after normalising
(case, punctuation, articles, spacing), else 0; ``f1`` scores the token-level F1 of the two.
They reward an answer worded like the reference and miss a paraphrase, so their scores are not
those of the model judges MLVU's open tasks are published with (both say ``semantic = False``).
``hf-judge/<folder or hub id>`` asks a transformers causal LM a fixed rubric and reads a grade
0-5 (:mod:`vagent_judges.hf`); ``hf-judge/tiny-random`` is random weights, for tests only.
"""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _exact(spec: str | None, **_: Any) -> Any:
    from vagent_judges.lexical import ExactMatch

    return ExactMatch()


def _f1(spec: str | None, **_: Any) -> Any:
    from vagent_judges.lexical import TokenF1

    return TokenF1()


def _hf(spec: str | None, device: str | None = None, **_: Any) -> Any:
    from vagent.errors import ModelUnavailable

    if not spec:
        raise ModelUnavailable(
            "hf-judge needs a model: hf-judge/PATH/TO/MODEL (a local folder) or a hub id in the "
            "local cache (hf-judge/tiny-random: random weights, for tests)"
        )
    from vagent_judges.hf import HFJudge

    return HFJudge(spec, device=device)


@hookimpl
def vagent_register_judges(register: Any) -> None:
    register(
        "exact",
        _exact,
        description="1 if the answer is the reference's words (case, punctuation and articles "
        "aside), else 0; lexical, no model",
    )
    register(
        "f1",
        _f1,
        description="token F1 of the answer against the reference (normalised as exact); "
        "lexical, no model",
    )
    register(
        "hf-judge",
        _hf,
        description="hf-judge/<folder or hub id>: a causal LM grades 0-5 by a fixed rubric "
        "(the most likely grade token; score = grade / 5); hf-judge/tiny-random: random, tests",
    )
