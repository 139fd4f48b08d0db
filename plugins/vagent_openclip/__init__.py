"""Built-in visual encoder plugin: open_clip. Ids ``openclip/<model>/<pretrained>``.

``<pretrained>`` is an open_clip tag (``laion2b_s34b_b79k``), a local checkpoint file, or
``random`` (explicit random weights, seeded: for tests and throughput benchmarks only).
"""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl

DEFAULT = "openclip/ViT-B-32/laion2b_s34b_b79k"


def _factory(spec: str | None, device: str | None = None, **_: Any) -> Any:
    from vagent_openclip.encoder import OpenClipEncoder

    return OpenClipEncoder(spec or DEFAULT.split("/", 1)[1], device=device)


@hookimpl
def vagent_register_visual_encoders(register: Any) -> None:
    register(
        "openclip",
        _factory,
        description="open_clip image/text encoder: openclip/<model>/<tag|checkpoint file|random>",
    )
