"""Built-in segmenters: fixed windows, and scene cuts found in the frame embeddings."""

from __future__ import annotations

import math
from typing import Any

from vagent.hookspecs import hookimpl


def _number(spec: str, what: str, low: float, high: float, low_open: bool = False) -> float:
    """``spec`` as a number in ``[low, high]`` (``(low, high]``), or a ValueError saying so."""
    try:
        value = float(spec)
    except ValueError:
        value = math.nan
    too_low = value <= low if low_open else value < low
    if not math.isfinite(value) or too_low or value > high:
        bound = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"--segmenter {what}/N takes N in {bound}; got {spec[:40]!r}")
    return value


def _fixed(spec: str | None, seconds: float = 10.0, **_: Any) -> Any:
    from vagent_segmenters.segmenters import FixedWindows

    return FixedWindows(_number(spec, "fixed", 0.5, 3600) if spec else seconds)


def _scene(spec: str | None, seconds: float = 10.0, **_: Any) -> Any:
    from vagent_segmenters.segmenters import SceneCuts

    # a cosine distance: 0 would cut between every pair of frames, 2 never
    threshold = _number(spec, "scene", 0, 2, low_open=True) if spec else 0.25
    return SceneCuts(threshold=threshold, max_seconds=seconds)


@hookimpl
def vagent_register_segmenters(register: Any) -> None:
    register("fixed", _fixed, description="fixed windows of --segment-seconds (fixed/<seconds>)")
    register(
        "scene",
        _scene,
        description="cut where consecutive frame vectors differ by more than a cosine distance "
        "(scene/<threshold>, default 0.25); scenes longer than --segment-seconds are split",
    )
