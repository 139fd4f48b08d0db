"""A library's settings as one value: :class:`LibrarySpec`, its defaults, and the one mapping
between a spec and the catalog's library row.

A spec names what ``vagent index`` sets. ``None`` in a field means "not asked": a new library
takes the default (:meth:`LibrarySpec.with_defaults`), an existing one keeps its own
(:meth:`LibrarySpec.over`). The settings in :data:`PINNED` are written into the catalog when
the library is made and never change; asking for another value is refused in one line. The
visual encoder is pinned by its embedding space instead (another encoder of the same space may
query it; ``vagent.library.build`` checks that). The rest (decoder, audio stream, dedupe, batch
size, partial files, a Ray cluster) apply to one run.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from vagent.catalog import LibraryRow
from vagent.components import TextEncoder, VisualEncoder
from vagent.components.kinds import (
    ASR_KIND,
    CAPTIONER,
    DECODER,
    INDEX,
    OCR_KIND,
    SEGMENTER,
    TEXT_ENCODER,
    VISUAL_ENCODER,
)
from vagent.errors import VagentError
from vagent.validate import AUDIO_STREAM, BATCH_SIZE, FPS, SEGMENT_SECONDS

# The components' defaults are the kind table's (vagent.components.kinds); aliases:
DEFAULT_ENCODER = VISUAL_ENCODER.default_id
DEFAULT_TEXT_ENCODER = TEXT_ENCODER.default_id
DEFAULT_OCR = OCR_KIND.default_id
# Captions are off by default (a VLM per segment is slow on a CPU); --text ...,captions uses:
DEFAULT_CAPTIONER = CAPTIONER.default_id
# Speech is transcribed where a file has audio (the recogniser loads on the first such file).
DEFAULT_ASR = ASR_KIND.default_id
DEFAULT_INDEX = INDEX.default_id
DEFAULT_SEGMENTER = SEGMENTER.default_id
DEFAULT_DECODER = DECODER.default_id
DEFAULT_TEXT = "subtitles,ocr,speech"
TEXT_SOURCES = ("subtitles", "ocr", "captions", "speech")
DEFAULT_FPS = 1.0
DEFAULT_SEGMENT_SECONDS = 10.0
DEFAULT_BATCH_SIZE = 32

# The settings a library keeps for life, by field name (the flag is ``--`` + the name with
# dashes).
PINNED = (
    "fps",
    "segment_seconds",
    "segmenter",
    "index",
    "text",
    "text_encoder",
    "ocr",
    "captioner",
    "asr",
)


class PinnedSetting(VagentError):
    """A run asked for another value of a setting the library is pinned to."""


def index_id(index: str | None) -> str:
    """``faiss`` -> ``faiss/Flat``; None -> the default index."""
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


def flag(name: str) -> str:
    """The ``vagent index`` option of a spec field: ``segment_seconds`` -> ``--segment-seconds``."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class LibrarySpec:
    """What a library is built with, as ``vagent index`` flags set it (``None``: not asked).

    Made from flags or keyword arguments, it checks and normalises them at once (numbers in
    range, text sources known, ``faiss`` -> ``faiss/Flat``), so a bad value fails before
    anything is opened or written."""

    encoder: str | None = None
    fps: float | None = None
    segmenter: str | None = None
    segment_seconds: float | None = None
    index: str | None = None
    text: str | None = None  # sorted sources, "" for none
    text_encoder: str | None = None
    ocr: str | None = None
    captioner: str | None = None
    asr: str | None = None
    # per run, not pinned
    decoder: str | None = None
    audio_stream: int | None = None
    dedupe: bool = True
    batch_size: int = DEFAULT_BATCH_SIZE
    allow_partial: bool = False
    ray: str | None = None  # the per-file work on this Ray cluster ("auto" or host:port)

    def __post_init__(self) -> None:
        def norm(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        if self.fps is not None:
            norm("fps", FPS.check(self.fps))
        if self.segment_seconds is not None:
            norm("segment_seconds", SEGMENT_SECONDS.check(self.segment_seconds))
        norm("batch_size", BATCH_SIZE.check_int(self.batch_size))
        if self.audio_stream is not None:
            norm("audio_stream", AUDIO_STREAM.check_int(self.audio_stream))
        if self.text is not None:
            norm("text", text_sources(self.text))
        if self.index is not None:
            norm("index", index_id(self.index))

    @property
    def sources(self) -> set[str]:
        return set(self.text.split(",")) if self.text else set()

    def with_defaults(self) -> LibrarySpec:
        """The spec of a new library: each setting not asked takes its default (a text
        source's reader only where that source is on)."""
        text = self.text if self.text is not None else text_sources(DEFAULT_TEXT)
        on = set(text.split(",")) if text else set()
        return replace(
            self,
            encoder=self.encoder or DEFAULT_ENCODER,
            fps=self.fps or DEFAULT_FPS,
            segmenter=self.segmenter or DEFAULT_SEGMENTER,
            segment_seconds=self.segment_seconds or DEFAULT_SEGMENT_SECONDS,
            index=self.index or index_id(None),
            text=text,
            text_encoder=(self.text_encoder or DEFAULT_TEXT_ENCODER) if on else None,
            ocr=(self.ocr or DEFAULT_OCR) if "ocr" in on else None,
            captioner=(self.captioner or DEFAULT_CAPTIONER) if "captions" in on else None,
            asr=(self.asr or DEFAULT_ASR) if "speech" in on else None,
            decoder=self.decoder or DEFAULT_DECODER,
        )

    def over(self, pinned: LibrarySpec, library: str) -> LibrarySpec:
        """This run's spec over a library pinned to ``pinned``: what is not asked is the
        library's; a pinned setting asked with another value is refused, in one line naming
        the setting, the library's value and what to do."""
        for name in PINNED:
            want, have = getattr(self, name), getattr(pinned, name)
            if want is not None and want != have:
                raise PinnedSetting(
                    f"library '{library}' uses {flag(name)} {have or 'none'}; asked for "
                    f"{want or 'none'}. Omit it to use the library's setting, or index into a "
                    f"new library."
                )
        per_run = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in PINNED}
        per_run["encoder"] = self.encoder or pinned.encoder
        per_run["decoder"] = self.decoder or pinned.decoder or DEFAULT_DECODER
        return replace(pinned, **per_run)

    # ---- the catalog: the one place a spec is read from and written to a library row ---------

    @classmethod
    def of_row(cls, row: LibraryRow) -> LibrarySpec:
        """The pinned settings of the library ``row``."""
        return cls(
            encoder=row.encoder,
            fps=row.sample_fps,
            segmenter=row.segmenter,
            segment_seconds=row.segment_seconds,
            index=f"{row.index_backend}/{row.index_spec}",
            text=row.text_sources or "",
            text_encoder=row.text_encoder,
            ocr=row.ocr,
            captioner=row.captioner,
            asr=row.asr,
        )

    def to_row(self, name: str, visual: VisualEncoder, text: TextEncoder | None) -> LibraryRow:
        """A new library row pinned to this (complete) spec, with the embedding spaces of the
        encoders as built."""
        backend, _, index_spec = index_id(self.index).partition("/")
        return LibraryRow(
            name=name,
            encoder=visual.id,
            embedding_space=visual.embedding_space,
            dim=visual.dim,
            semantic=visual.semantic,
            index_backend=backend,
            index_spec=index_spec,
            segmenter=self.segmenter,
            segment_seconds=self.segment_seconds,
            sample_fps=self.fps,
            generation=0,
            text_sources=self.text or "",
            ocr=self.ocr,
            captioner=self.captioner,
            asr=self.asr,
            text_encoder=text.id if text else None,
            text_space=text.embedding_space if text else None,
            text_dim=text.dim if text else None,
        )
