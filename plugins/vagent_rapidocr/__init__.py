"""Built-in OCR plugin: rapidocr 3.x with the PP-OCR models that ship in its wheel (offline)."""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _factory(spec: str | None, **_: Any) -> Any:
    from vagent_rapidocr.reader import RapidOcrReader

    return RapidOcrReader(int(spec) if spec else 480)


@hookimpl
def vagent_register_ocr(register: Any) -> None:
    register(
        "rapidocr",
        _factory,
        description="rapidocr (PP-OCR, ONNX Runtime, models in the wheel); rapidocr/<max side "
        "for detection, default 480>",
    )
