"""The encoder contracts: ``VisualEncoder`` (images and texts into one space) and
``TextEncoder`` (texts for the text track).

Both: (n, dim) float32 rows of unit length for n inputs (n may be 0), finite; a vector does not
depend on what else is in the batch; the same input gives the same vector; ``dim``,
``embedding_space`` and ``id`` are set (a text encoder's ``dim`` after ``load()``); ``load()``
may be called twice. Semantic encoders (``semantic`` not False) also rank a matching text first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from vagent.components import TextEncoder, VisualEncoder
from vagent.testing.contracts.base import Contract

TEXTS = ["a red car on a street", "", "x" * 2000, "Ünïcode — 日本語 🎥", "a dog"]


def images(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def solid(rgb: Sequence[int], h: int = 96, w: int = 128) -> np.ndarray:
    out = np.empty((1, h, w, 3), np.uint8)
    out[:] = rgb
    return out


class _Vectors(Contract[object]):
    def vectors(self, got: object, n: int, dim: int, what: str) -> np.ndarray:
        self.expect(isinstance(got, np.ndarray), f"{what}: {type(got).__name__}, not ndarray")
        assert isinstance(got, np.ndarray)
        self.expect(got.dtype == np.float32, f"{what}: dtype {got.dtype}, not float32")
        self.expect(got.shape == (n, dim), f"{what}: shape {got.shape}, not {(n, dim)}")
        self.expect(np.isfinite(got).all(), f"{what}: not finite")
        norms = np.linalg.norm(got, axis=1)
        self.expect(np.allclose(norms, 1.0, atol=1e-3), f"{what}: row norms {norms.round(4)}")
        return got

    def same(self, a: np.ndarray, b: np.ndarray, what: str) -> None:
        cos = np.sum(a * b, axis=1)
        self.expect(np.all(cos > 0.999), f"{what}: cosine {cos.round(5)} between runs")


class VisualEncoderContract(_Vectors):
    """Subclass and define ``make(self) -> VisualEncoder``."""

    kind: ClassVar[str] = "visual_encoder"
    base: ClassVar[type] = VisualEncoder
    reuse: ClassVar[bool] = True

    def enc(self) -> VisualEncoder:
        enc = self.component()
        assert isinstance(enc, VisualEncoder)
        enc.load()
        return enc

    def test_describes_itself(self) -> None:
        enc = self.enc()
        enc.load()  # a second time: no harm
        self.expect(isinstance(enc.id, str) and enc.id, f"id {enc.id!r}")
        self.expect(isinstance(enc.dim, int) and enc.dim > 0, f"dim {enc.dim!r}")
        space = enc.embedding_space
        self.expect(isinstance(space, str) and space, f"embedding_space {space!r}")
        self.expect(isinstance(enc.semantic, bool), f"semantic {enc.semantic!r}")
        size = enc.input_size
        self.expect(isinstance(size, int) and size > 0, f"input_size {size!r}")

    def test_images_of_any_size_to_unit_rows(self) -> None:
        enc = self.enc()
        for n, h, w in ((3, 64, 80), (1, 32, 32), (2, 240, 320), (2, 300, 120), (0, 64, 64)):
            self.vectors(enc.encode_images(images(n, h, w)), n, enc.dim, f"{n} images {w}x{h}")

    def test_texts_to_unit_rows(self) -> None:
        enc = self.enc()
        self.vectors(enc.encode_texts(TEXTS), len(TEXTS), enc.dim, "texts")
        self.vectors(enc.encode_texts([]), 0, enc.dim, "no texts")

    def test_a_vector_does_not_depend_on_its_batch(self) -> None:
        enc = self.enc()
        batch = images(4, 64, 96, seed=1)
        alone = enc.encode_images(batch[2:3])
        self.same(enc.encode_images(batch)[2:3], alone, "an image alone and in a batch")
        self.same(enc.encode_images(batch[2:3]), alone, "the same image twice")
        texts = enc.encode_texts(TEXTS)
        self.same(texts[4:5], enc.encode_texts(TEXTS[4:]), "a text alone and in a batch")

    def test_matching_text_ranks_first(self) -> None:
        enc = self.enc()
        if not enc.semantic:
            self.skip(f"{enc.id} is not semantic (random weights): its vectors carry no meaning")
        pics = np.concatenate([solid((220, 30, 30)), solid((30, 60, 220))])
        sims = enc.encode_images(pics) @ enc.encode_texts(["a red picture", "a blue picture"]).T
        self.expect(sims[0, 0] > sims[0, 1] and sims[1, 1] > sims[1, 0], f"similarities {sims}")


class TextEncoderContract(_Vectors):
    """Subclass and define ``make(self) -> TextEncoder``."""

    kind: ClassVar[str] = "text_encoder"
    base: ClassVar[type] = TextEncoder
    reuse: ClassVar[bool] = True

    def enc(self) -> TextEncoder:
        enc = self.component()
        assert isinstance(enc, TextEncoder)
        enc.load()
        return enc

    def test_describes_itself_after_load(self) -> None:
        enc = self.enc()
        enc.load()
        self.expect(isinstance(enc.id, str) and enc.id, f"id {enc.id!r}")
        self.expect(isinstance(enc.dim, int) and enc.dim > 0, f"dim {enc.dim!r} after load()")
        space = enc.embedding_space
        self.expect(isinstance(space, str) and space, f"embedding_space {space!r}")

    def test_texts_to_unit_rows(self) -> None:
        enc = self.enc()
        self.vectors(enc.encode(TEXTS), len(TEXTS), enc.dim, "texts")
        self.vectors(enc.encode([]), 0, enc.dim, "no texts")

    def test_a_vector_does_not_depend_on_its_batch(self) -> None:
        enc = self.enc()
        many = [f"sentence number {i} about {w}" for i, w in enumerate(["cats", "rain"] * 20)]
        alone = enc.encode(many[5:6])
        self.same(enc.encode(many)[5:6], alone, "a text alone and in a batch of 40")
        self.same(enc.encode(many[5:6]), alone, "the same text twice")

    def test_similar_texts_are_closer(self) -> None:
        enc = self.enc()
        if getattr(enc, "semantic", True) is False:
            self.skip(f"{enc.id} is not semantic: its vectors carry no meaning")
        v = enc.encode(["a dog is barking", "the puppy barks loudly", "stock prices fell"])
        self.expect(v[0] @ v[1] > v[0] @ v[2], f"similarities {v @ v.T}")
