"""Built-in judges of open answers: lexical matches against the reference, no model.

``exact`` scores 1 when the answer and the reference are the same words after normalising
(case, punctuation, articles, spacing), else 0; ``f1`` scores the token-level F1 of the two.
They reward an answer worded like the reference and miss a paraphrase, so their scores are not
those of the model judges MLVU's open tasks are published with.
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
