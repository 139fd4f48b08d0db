"""Built-in answerer ``clip-choice``: multiple choice with no language model. Each option is
scored against the selected frames with the library's own visual encoder (zero-shot CLIP)."""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _factory(spec: str | None, device: str | None = None, encoder: Any = None, **_: Any) -> Any:
    from vagent_clipchoice.answerer import ClipChoice

    return ClipChoice(encoder)


@hookimpl
def vagent_register_answerers(register: Any) -> None:
    register(
        "clip-choice",
        _factory,
        description="multiple choice only: options scored against the frames with the "
        "library's CLIP encoder (a zero-shot baseline)",
    )
