"""Built-in segmenters: fixed windows, and scene cuts found in the frame embeddings."""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _fixed(spec: str | None, seconds: float = 10.0, **_: Any) -> Any:
    from vagent_segmenters.segmenters import FixedWindows

    return FixedWindows(float(spec) if spec else seconds)


def _scene(spec: str | None, seconds: float = 10.0, **_: Any) -> Any:
    from vagent_segmenters.segmenters import SceneCuts

    return SceneCuts(threshold=float(spec) if spec else 0.25, max_seconds=seconds)


@hookimpl
def vagent_register_segmenters(register: Any) -> None:
    register("fixed", _fixed, description="fixed windows of --segment-seconds (fixed/<seconds>)")
    register(
        "scene",
        _scene,
        description="cut where consecutive frame vectors differ by more than a cosine distance "
        "(scene/<threshold>, default 0.25); scenes longer than --segment-seconds are split",
    )
