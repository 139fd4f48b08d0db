"""Test plugin ``liar``: registers a decoder whose factory builds something that only looks like
one (the right methods, not a ``vagent.components.Decoder``), so the host's contract check on
``Registry.create`` can be seen to name it."""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


class LooksLikeADecoder:
    """Has ``probe`` and ``sample`` but does not subclass the decoder base class."""

    id = "liar"

    def probe(self, path: str) -> None:
        return None

    def sample(self, path: str, fps: float, size: Any, batch_size: int = 32) -> list[Any]:
        return []


@hookimpl
def vagent_register_decoders(register: Any) -> None:
    register("liar", lambda spec, **_: LooksLikeADecoder(), description="test: not a Decoder")
