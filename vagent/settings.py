"""A library's pinned settings: defaults for new libraries, and the checks that refuse mixing."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from sqlalchemy.engine import make_url

from vagent.catalog import LibraryRow
from vagent.components import TextEncoder, VisualEncoder
from vagent.components.kinds import (
    ASR_KIND,
    CAPTIONER,
    INDEX,
    OCR_KIND,
    SEGMENTER,
    TEXT_ENCODER,
    VISUAL_ENCODER,
)
from vagent.errors import EncoderMismatch, VagentError

# The components' defaults live in the kind table (vagent.components.kinds); aliases:
DEFAULT_ENCODER = VISUAL_ENCODER.default_id
DEFAULT_TEXT_ENCODER = TEXT_ENCODER.default_id
DEFAULT_OCR = OCR_KIND.default_id
# Captions are off by default (a VLM per segment is slow on a CPU); --text ...,captions uses:
DEFAULT_CAPTIONER = CAPTIONER.default_id
# Speech is transcribed where a file has audio (the recogniser loads on the first such file).
DEFAULT_TEXT = "subtitles,ocr,speech"
TEXT_SOURCES = ("subtitles", "ocr", "captions", "speech")
DEFAULT_ASR = ASR_KIND.default_id
DEFAULT_INDEX = INDEX.default_id
DEFAULT_SEGMENTER = SEGMENTER.default_id
DEFAULT_FPS = 1.0
DEFAULT_SEGMENT_SECONDS = 10.0


def index_id(index: str | None) -> str:
    backend, _, spec = (index or DEFAULT_INDEX).partition("/")
    return f"{backend}/{spec or 'Flat'}"


def text_sources(text: str | None) -> str:
    """Normalise ``--text`` ("subtitles,ocr", "none", "") to a sorted comma list."""
    if text is None:
        text = DEFAULT_TEXT
    parts = {p.strip() for p in text.split(",") if p.strip() and p.strip() != "none"}
    unknown = parts - set(TEXT_SOURCES)
    if unknown:
        raise VagentError(
            f"unknown text source(s) {', '.join(sorted(unknown))}; use any of "
            f"{', '.join(TEXT_SOURCES)}, or none"
        )
    return ",".join(sorted(parts))


def _check_space(
    row: LibraryRow,
    what: str,
    built: tuple[str | None, int | None, str | None],
    enc: VisualEncoder | TextEncoder,
    flag: str,
) -> None:
    name, dim, space = built
    if enc.embedding_space != space or enc.dim != dim:
        raise EncoderMismatch(
            f"library '{row.name}' {what} {name} ({dim}-d vectors, space {space}); {enc.id} gives "
            f"{enc.dim}-d vectors in space {enc.embedding_space}. Use {flag} {name}, or index "
            f"into a new library."
        )


def check_encoder(row: LibraryRow, enc: VisualEncoder) -> None:
    """Refuse a visual encoder whose vectors are not comparable with the library's."""
    built = (row.encoder, row.dim, row.embedding_space)
    _check_space(row, "was built with", built, enc, "--encoder")


def check_text_encoder(row: LibraryRow, enc: TextEncoder) -> None:
    """Refuse a text encoder whose vectors are not comparable with the library's spans."""
    built = (row.text_encoder, row.text_dim, row.text_space)
    _check_space(row, "embeds text with", built, enc, "--text-encoder")


def check_settings(row: LibraryRow, asked: Mapping[str, object]) -> None:
    """Refuse settings that differ from the library's (None means "the library's")."""
    have = {
        "fps": row.sample_fps,
        "segment-seconds": row.segment_seconds,
        "segmenter": row.segmenter,
        "index": f"{row.index_backend}/{row.index_spec}",
        "text": row.text_sources,
        "text-encoder": row.text_encoder,
        "ocr": row.ocr,
        "captioner": row.captioner,
        "asr": row.asr,
    }
    for name, want in asked.items():
        if want is not None and want != have[name]:
            raise VagentError(
                f"library '{row.name}' uses --{name} {have[name] or 'none'}; asked for "
                f"{want or 'none'}. Omit it to use the library's setting, or index into a new "
                f"library."
            )


_warned: set[tuple[str, str]] = set()


def warn_random(row: LibraryRow, hybrid: bool = False) -> None:
    """Say once per process and library that its visual channel has random weights."""
    key = (row.name, row.encoder)  # once per library and process, whichever command comes first
    if key in _warned:
        return
    _warned.add(key)
    extra = "; hybrid search leaves the visual channel out" if hybrid else ""
    print(
        f"warning: library '{row.name}' was built with random-weight encoder {row.encoder}: "
        f"its visual results are not semantic (throughput and plumbing tests only){extra}",
        file=sys.stderr,
    )


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
