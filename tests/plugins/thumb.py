"""Test plugin ``testthumb``: a visual encoder that sees where things are, not only colours.

An image's vector is its 8x8 colour thumbnail (block means), centred and normalised, so a small
box moving over a still picture (a webcam inset over a slide) turns the vector, where the colour
test encoder, which averages the whole image, hardly notices it. Texts are not encoded by meaning
(every text gets the same vector); it is for segmenting, not for ranking.
Registered for one test at a time with ``tests.conftest.using_plugins``, never installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vagent.components import VisualEncoder
from vagent.hookspecs import hookimpl

GRID = 8  # thumbnail cells per side


class ThumbEncoder(VisualEncoder):
    def __init__(self, spec: str | None = None) -> None:
        self.id = "thumb"
        self.dim = GRID * GRID * 3
        self.embedding_space = f"test-thumb-{self.dim}"
        self.input_size = 64
        self.images_seen = 0

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        self.images_seen += len(images)
        n, h, w = images.shape[:3]
        if n == 0:  # (0, dim), as the contract says
            return np.zeros((0, self.dim), np.float32)
        ys = np.linspace(0, h, GRID + 1).astype(int)[:-1]
        xs = np.linspace(0, w, GRID + 1).astype(int)[:-1]
        pixels = images.astype(np.float32)
        sums = np.add.reduceat(np.add.reduceat(pixels, ys, axis=1), xs, axis=2)
        counts = np.diff(np.append(ys, h))[:, None] * np.diff(np.append(xs, w))[None, :]
        cells = (sums / counts[None, :, :, None]).reshape(n, -1, 3)
        v = (cells - cells.mean(axis=1, keepdims=True)).reshape(n, -1)
        return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)).astype(np.float32)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        out = np.ones((len(texts), self.dim), np.float32)
        return out / np.sqrt(self.dim)


@hookimpl
def vagent_register_visual_encoders(register: Any) -> None:
    register("thumb", ThumbEncoder, description="test: vectors = centred 8x8 colour thumbnails")
