"""Building a new library's components before anything is written, so a failure creates
nothing: weights that cannot be loaded, an unknown text source or OCR reader."""

from __future__ import annotations

from dataclasses import dataclass

from vagent import plugins
from vagent.components import OCR, TextEncoder, VisualEncoder
from vagent.settings import DEFAULT_ENCODER, DEFAULT_OCR, DEFAULT_TEXT_ENCODER, text_sources


@dataclass
class NewParts:
    """A new library's loaded encoders, OCR reader and text settings."""

    encoder: VisualEncoder
    text_encoder: TextEncoder | None
    ocr: str | None
    sources: str
    reader: OCR | None = None


def build_new_parts(
    encoder: str | None, text: str | None, text_encoder: str | None, ocr: str | None
) -> NewParts:
    reg = plugins.registry()
    enc: VisualEncoder = reg.create("visual_encoder", encoder or DEFAULT_ENCODER)
    enc.load()
    sources = text_sources(text)
    tenc: TextEncoder | None = None
    if sources:
        tenc = reg.create("text_encoder", text_encoder or DEFAULT_TEXT_ENCODER)
        tenc.load()
    ocr_id = (ocr or DEFAULT_OCR) if "ocr" in sources.split(",") else None
    reader: OCR | None = reg.create("ocr", ocr_id) if ocr_id else None
    if reader is not None:
        reader.load()
    return NewParts(enc, tenc, ocr_id, sources, reader)
