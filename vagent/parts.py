"""Building a new library's components before anything is written, so a failure creates
nothing: weights that cannot be loaded, an unknown text source or OCR reader."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from vagent import plugins
from vagent.catalog import LibraryRow
from vagent.components import ASR, OCR, Captioner, Decoder, TextEncoder, VisualEncoder
from vagent.ingest.run import Parts
from vagent.settings import (
    DEFAULT_ASR,
    DEFAULT_CAPTIONER,
    DEFAULT_ENCODER,
    DEFAULT_OCR,
    DEFAULT_TEXT_ENCODER,
    text_sources,
)


@dataclass
class NewParts:
    """A new library's loaded encoders, OCR reader and text settings."""

    encoder: VisualEncoder
    text_encoder: TextEncoder | None
    ocr: str | None
    sources: str
    reader: OCR | None = None
    captioner: str | None = None
    describer: Captioner | None = None
    asr: str | None = None
    hearer: ASR | None = None


def build_new_parts(
    encoder: str | None,
    text: str | None,
    text_encoder: str | None,
    ocr: str | None,
    captioner: str | None = None,
    asr: str | None = None,
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
    cap_id = (captioner or DEFAULT_CAPTIONER) if "captions" in sources.split(",") else None
    describer: Captioner | None = reg.create("captioner", cap_id) if cap_id else None
    if describer is not None:
        describer.load()
    hearer: ASR | None = None
    if "speech" in sources.split(","):
        hearer = reg.create("asr", asr or DEFAULT_ASR)
        if asr:  # asked for by name: load it now (the default loads on the first file with audio)
            hearer.load()
    asr_id = hearer.id if hearer is not None else None
    return NewParts(enc, tenc, ocr_id, sources, reader, cap_id, describer, asr_id, hearer)


def index_parts(
    row: LibraryRow,
    fresh: NewParts | None,
    decoder: Decoder,
    encoder: VisualEncoder,
    text_encoder: TextEncoder | None,
) -> Parts:
    """The components an index run over ``row``'s library uses (readers built for a new
    library are reused rather than loaded twice)."""
    reg = plugins.registry()
    sources = set(row.text_sources.split(",")) if row.text_sources else set()
    reader: OCR | None = None
    if "ocr" in sources and row.ocr:
        reader = fresh.reader if fresh and fresh.reader else reg.create("ocr", row.ocr)
    describer: Captioner | None = None
    if "captions" in sources and row.captioner:
        describer = (
            fresh.describer if fresh and fresh.describer else reg.create("captioner", row.captioner)
        )
        if not describer.semantic:
            print(
                f"warning: captioner {describer.id} has random weights: its captions are not "
                f"semantic (plumbing tests only)",
                file=sys.stderr,
            )
    hearer: ASR | None = None
    if "speech" in sources and row.asr:
        hearer = fresh.hearer if fresh and fresh.hearer else reg.create("asr", row.asr)
    return Parts(
        decoder=decoder,
        encoder=encoder,
        segmenter=reg.create("segmenter", row.segmenter, seconds=row.segment_seconds),
        text_encoder=text_encoder,
        ocr=reader,
        subtitles="subtitles" in sources,
        captioner=describer,
        asr=hearer,
    )
