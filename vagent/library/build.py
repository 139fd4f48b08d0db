"""The one place a library's components are built from its :class:`LibrarySpec`.

A :class:`Builder` makes each component once, when first asked, and keeps it: the index run,
search, the agent and the benchmarks take theirs from it. :meth:`Builder.check` builds and
loads what a new library needs before anything is written, so weights that cannot be loaded or
a bad index, segmenter or text source create nothing; the components it built are the ones the
run then uses.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from vagent import plugins
from vagent.catalog import LibraryRow
from vagent.components import (
    ASR,
    OCR,
    Captioner,
    Decoder,
    Segmenter,
    TextEncoder,
    VectorIndex,
    VisualEncoder,
)
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
from vagent.errors import EncoderMismatch, VagentError
from vagent.ingest.work import Options, Parts
from vagent.library.notices import warn_random_captioner
from vagent.library.spec import DEFAULT_DECODER, LibrarySpec
from vagent.vectors import VectorSet

T = TypeVar("T")


def _need(value: T | None, name: str) -> T:
    if value is None:
        raise ValueError(f"the spec has no {name}: build from a complete spec (with_defaults)")
    return value


class Builder:
    """The components of one library as its ``spec`` (complete: see ``with_defaults``) names
    them, each built on first use. ``reuse``: a builder whose components are kept where this
    spec names the same ones."""

    def __init__(self, spec: LibrarySpec, reuse: Builder | None = None) -> None:
        self.spec = spec
        self._made: dict[str, tuple[object, Any]] = {}
        if reuse is not None:
            for role, (key, obj) in reuse._made.items():
                if key == self._key(role):
                    self._made[role] = (key, obj)

    def _key(self, role: str) -> object:
        s = self.spec
        return {
            "decoder": s.decoder or DEFAULT_DECODER,
            "encoder": s.encoder,
            "text_encoder": s.text_encoder if s.text else None,
            "segmenter": (s.segmenter, s.segment_seconds),
            "ocr": s.ocr if "ocr" in s.sources else None,
            "captioner": s.captioner if "captions" in s.sources else None,
            "asr": s.asr if "speech" in s.sources else None,
        }[role]

    def _get(self, role: str, make: Any) -> Any:
        key = self._key(role)
        held = self._made.get(role)
        if held is None or held[0] != key:
            held = (key, None if key is None else make(key))
            self._made[role] = held
        return held[1]

    # ---- one method per component --------------------------------------------------------

    def decoder(self) -> Decoder:
        d: Decoder = self._get("decoder", lambda i: plugins.registry().create(DECODER, i))
        return d

    def encoder(self) -> VisualEncoder:
        """The visual encoder (not loaded: searching loads it when it first encodes)."""
        e: VisualEncoder = self._get(
            "encoder", lambda i: plugins.registry().create(VISUAL_ENCODER, i)
        )
        return _need(e, "encoder")

    def text_encoder(self) -> TextEncoder | None:
        """The text encoder (loaded), None without a text track."""

        def make(i: str) -> TextEncoder:
            enc = plugins.registry().create(TEXT_ENCODER, i)
            enc.load()
            return enc

        t: TextEncoder | None = self._get("text_encoder", make)
        return t

    def segmenter(self) -> Segmenter:
        def make(key: tuple[str | None, float | None]) -> Segmenter:
            name, seconds = key
            return plugins.registry().create(
                SEGMENTER, _need(name, "segmenter"), seconds=_need(seconds, "segment_seconds")
            )

        s: Segmenter = self._get("segmenter", make)
        return s

    def ocr(self) -> OCR | None:
        o: OCR | None = self._get("ocr", lambda i: plugins.registry().create(OCR_KIND, i))
        return o

    def captioner(self) -> Captioner | None:
        c: Captioner | None = self._get(
            "captioner", lambda i: plugins.registry().create(CAPTIONER, i)
        )
        return c

    def asr(self) -> ASR | None:
        """The speech recogniser, not loaded (it loads on the first file with audio)."""
        a: ASR | None = self._get("asr", lambda i: plugins.registry().create(ASR_KIND, i))
        return a

    def index(self, dim: int) -> VectorIndex:
        """A new, empty vector index of the spec's kind, ``dim`` wide."""
        return plugins.registry().create(INDEX, _need(self.spec.index, "index"), dim=dim)

    # ---- a library's ----------------------------------------------------------------------

    def check(self, load_asr: bool = False) -> LibrarySpec:
        """Build and load what a new library needs, before anything is written; returns the
        spec to pin (the encoders' and recogniser's ids as they name themselves).
        ``load_asr``: load the recogniser now too (it was asked for by name)."""
        enc = self.encoder()
        enc.load()
        tenc = self.text_encoder()
        for part in (self.ocr(), self.captioner()):
            if part is not None:
                part.load()
        hearer = self.asr()
        if hearer is not None and load_asr:
            hearer.load()
        self.index(enc.dim)
        self.segmenter()
        pinned = replace(
            self.spec,
            encoder=enc.id,
            text_encoder=tenc.id if tenc else None,
            asr=hearer.id if hearer else None,
        )
        builder = Builder(pinned, reuse=self)
        self.spec, self._made = pinned, builder._made
        return pinned

    def check_space(self, row: LibraryRow) -> None:
        """Refuse encoders whose vectors are not comparable with the library's."""
        check_encoder(row, self.encoder())
        tenc = self.text_encoder() if row.text_encoder else None
        if tenc is not None:
            check_text_encoder(row, tenc)

    def vectors(self, root: Path, row: LibraryRow, hint: str) -> VectorSet:
        """The library's vector indexes (empty; ``load`` a generation into them)."""
        makers = {
            "segments": lambda: self.index(row.dim),
            "frames": lambda: self.index(row.dim),
        }
        if row.text_encoder:
            text_dim = _need(row.text_dim, "text_dim")
            makers["texts"] = lambda: self.index(text_dim)
        return VectorSet(root, makers, hint=hint)

    def parts(self) -> Parts:
        """The components of an index run."""
        describer = self.captioner()
        if describer is not None and not describer.semantic:
            warn_random_captioner(describer.id)
        return Parts(
            decoder=self.decoder(),
            encoder=self.encoder(),
            segmenter=self.segmenter(),
            text_encoder=self.text_encoder(),
            ocr=self.ocr(),
            subtitles="subtitles" in self.spec.sources,
            captioner=describer,
            asr=self.asr(),
        )

    def options(self, progress: bool) -> Options:
        s = self.spec
        return Options(
            _need(s.fps, "fps"),
            s.batch_size,
            s.allow_partial,
            progress,
            _need(s.segment_seconds, "segment_seconds"),
            audio_stream=s.audio_stream,
            dedupe=s.dedupe,
            ray=s.ray,
        )


def recogniser_id(asr: str) -> str:
    """The id a recogniser names itself by (``faster-whisper`` -> ``faster-whisper/tiny.en``),
    the form a library pins."""
    return plugins.registry().create(ASR_KIND, asr).id


def decoder_named(decoder_id: str | None) -> Decoder:
    """The decoder ``decoder_id`` (as a video's ``decode_strategy`` records it), or the default
    one where it is None or no longer installed."""
    reg = plugins.registry()
    if decoder_id:
        try:
            return reg.create(DECODER, decoder_id)
        except VagentError:
            pass
    return reg.create(DECODER, DEFAULT_DECODER)


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
