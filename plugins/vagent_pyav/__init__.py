"""Built-in decoder plugin: PyAV (FFmpeg). Registered through the ``vagent`` entry point."""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _factory(spec: str | None, **_: Any) -> Any:
    from vagent_pyav.decoder import PyAVDecoder

    return PyAVDecoder(spec)


@hookimpl
def vagent_register_decoders(register: Any) -> None:
    register(
        "pyav",
        _factory,
        description="FFmpeg via PyAV; spec: gop (default: decode each keyframe group only up to "
        "its last wanted frame) or sequential (decode every frame, keep one per sample)",
    )
