"""Redundancy-aware encoding: skip frames that look like the last frame encoded.

A frame's signature is a 16x16 colour thumbnail made by averaging blocks of pixels: the
averaging blurs away compression noise and sensor grain (colour, not grey: a red and a green
slide can have the same brightness). Two signatures differ when more than ``MAX_CHANGED`` of
their cells moved by more than ``CELL_LEVELS`` levels in some channel, so a small moving
inset (a webcam over slides, a cursor, a ticking clock) changes too few cells to count while a new
slide or a cut changes most of them. Each frame is compared with the last frame *encoded* (not
the previous frame), so slow drift adds up until a frame is encoded again.

The thresholds were chosen with ``vagent bench ingest --content ...`` (see the README).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDE = 16  # signature cells per side
CELL_LEVELS = 10.0  # a cell "changed" when a channel's mean moved by more than this (0-255)
MAX_CHANGED = 0.12  # a frame is new when more than this fraction of cells changed


def _bins(n: int, cells: int) -> np.ndarray:
    return np.linspace(0, n, min(cells, n) + 1).astype(int)[:-1]


def signatures(images: np.ndarray) -> np.ndarray:
    """(n, h, w, 3) uint8 RGB -> (n, SIDE, SIDE, 3) float32 block means (fewer cells per side
    for frames smaller than SIDE pixels)."""
    h, w = images.shape[1:3]
    step = max(1, min(h, w) // (SIDE * 4))  # keep >= 4 pixels per cell side, read fewer
    small = images[:, ::step, ::step]
    h, w = small.shape[1:3]
    pixels = small.astype(np.float32)
    ys, xs = _bins(h, SIDE), _bins(w, SIDE)
    sums = np.add.reduceat(np.add.reduceat(pixels, ys, axis=1), xs, axis=2)
    counts = np.diff(np.append(ys, h))[:, None] * np.diff(np.append(xs, w))[None, :]
    return (sums / counts[None, :, :, None]).astype(np.float32)


def changed_fraction(a: np.ndarray, b: np.ndarray, cell_levels: float = CELL_LEVELS) -> float:
    """The fraction of cells where some channel differs by more than ``cell_levels``."""
    return float((np.abs(a - b).max(axis=-1) > cell_levels).mean())


@dataclass
class Deduper:
    """Decides, frame by frame, which frames to encode: the first, and every frame whose
    signature differs from that of the last frame encoded. ``encoded`` and ``reused`` count
    the decisions so far."""

    cell_levels: float = CELL_LEVELS
    max_changed: float = MAX_CHANGED
    encoded: int = 0
    reused: int = 0
    _last: np.ndarray | None = None

    def keep(self, images: np.ndarray) -> np.ndarray:
        """A bool mask over ``images``: True for the frames to encode."""
        sigs = signatures(images)
        mask = np.zeros(len(sigs), bool)
        for i, sig in enumerate(sigs):
            last = self._last
            if (
                last is None
                or last.shape != sig.shape
                or changed_fraction(sig, last, self.cell_levels) > self.max_changed
            ):
                mask[i] = True
                self._last = sig
        kept = int(mask.sum())
        self.encoded += kept
        self.reused += len(mask) - kept
        return mask
