"""Test plugin ``testcolour``: a visual encoder whose vectors are checkable by eye.

An image's vector is its similarity to each named colour of ``vagent.synth.COLORS``; a text's
vector is one-hot on the colour words it contains. So "red" must rank red scenes first.
Registered for one test at a time by the ``colour_plugin`` fixture, never installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vagent.components import VisualEncoder
from vagent.hookspecs import hookimpl
from vagent.synth import COLORS

NAMES = list(COLORS)
PALETTE = np.array([COLORS[n] for n in NAMES], np.float32)


def _norm(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class ColourEncoder(VisualEncoder):
    def __init__(self, spec: str | None = None) -> None:
        self.id = f"colour/{spec}" if spec else "colour"
        self.dim = len(NAMES) if spec != "wide" else 2 * len(NAMES)
        self.embedding_space = f"test-colour-{self.dim}"
        self.input_size = 32
        self.images_seen = 0

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        self.images_seen += len(images)
        if len(images) == 0:  # (0, dim), as the contract says
            return np.zeros((0, self.dim), np.float32)
        mean = images.reshape(len(images), -1, 3).mean(axis=1)
        dist = np.linalg.norm(mean[:, None, :] - PALETTE[None], axis=2)
        sim = np.exp(-dist / 20.0)
        return _norm(np.tile(sim, (1, self.dim // len(NAMES))))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        out = np.full((len(texts), len(NAMES)), 1e-3, np.float32)
        for i, t in enumerate(texts):
            for j, name in enumerate(NAMES):
                if name in t.lower():
                    out[i, j] = 1.0
        return _norm(np.tile(out, (1, self.dim // len(NAMES))))


@hookimpl
def vagent_register_visual_encoders(register: Any) -> None:
    register("colour", ColourEncoder, description="test: vectors = similarity to named colours")
