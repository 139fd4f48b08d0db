"""Exact vectors of an IVF-PQ index, as float16 rows by id, written after the FAISS index in the
same file.

PQ codes rank a shortlist roughly; these rows rescore it exactly (and reconstruct vectors
exactly). They travel in the index's own file, after the bytes FAISS writes (FAISS reads what it
wrote and ignores the rest), so they are written, checksummed, renamed, versioned and swept with
it: one file per generation, crash-safe exactly as before. Layout of the tail::

    ids   int64[n], ascending
    rows  float16[n, dim], in the ids' order
    footer: MAGIC, n, dim, offset of ids, vectors the index was trained on (5 x 8 bytes)

A loaded file's ids and rows are memory-mapped read-only (a search reads the few rows of its
shortlist); rows added since live in memory, removed ones are masked, and the next save writes
the merged set.
"""

from __future__ import annotations

import os
import struct
from typing import Any, BinaryIO

import numpy as np

MAGIC = b"vgtexact"
FOOTER = struct.Struct("<8sqqqq")
CHUNK = 1 << 16  # rows written at a time


class ExactRows:
    """float16 copies of an index's vectors by id: a mapped, sorted base plus rows added
    since (in memory), less the removed ones."""

    def __init__(self, dim: int, trained_on: int = 0) -> None:
        self.dim = dim
        self.trained_on = trained_on  # vectors in the library when the index was trained
        self._base_ids: np.ndarray = np.zeros(0, np.int64)
        self._base: np.ndarray = np.zeros((0, dim), np.float16)
        self._alive: np.ndarray | None = None  # mask over the base, once something is removed
        self._new_ids: list[np.ndarray] = []
        self._new_rows: list[np.ndarray] = []
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None  # new ids sorted, their order

    def __len__(self) -> int:
        base = len(self._base_ids) if self._alive is None else int(self._alive.sum())
        return base + sum(len(i) for i in self._new_ids)

    def ids(self) -> np.ndarray:
        """Every id held, ascending."""
        base = self._base_ids if self._alive is None else self._base_ids[self._alive]
        return np.sort(np.concatenate([np.asarray(base), *self._new_ids]))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._new_ids.append(np.array(ids, np.int64))
        self._new_rows.append(np.asarray(vectors).astype(np.float16))
        self._sorted = None

    def remove(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, np.int64)
        at, hit = self._in_base(ids)
        if hit.any():
            if self._alive is None:
                self._alive = np.ones(len(self._base_ids), bool)
            self._alive[at[hit]] = False
        if self._new_ids:
            new_ids, new_rows = self._merged_new()
            keep = ~np.isin(new_ids, ids)
            self._new_ids, self._new_rows = [new_ids[keep]], [new_rows[keep]]
            self._sorted = None

    def get(self, ids: np.ndarray) -> np.ndarray:
        """The rows of ``ids`` as float32 (n, dim); KeyError names an id not held."""
        ids = np.asarray(ids, np.int64)
        out = np.empty((len(ids), self.dim), np.float32)
        at, hit = self._in_base(ids)
        if hit.any():
            out[hit] = self._base[at[hit]]
        miss = ~hit
        if miss.any():
            new_ids, new_rows = self._merged_new()
            order = self._new_order(new_ids)
            want = ids[miss]
            if len(order) == 0:
                raise KeyError(int(want[0]))
            pos = np.minimum(np.searchsorted(new_ids[order], want), len(order) - 1)
            ok = new_ids[order][pos] == want
            if not ok.all():
                raise KeyError(int(want[~ok][0]))
            out[miss] = new_rows[order[pos]]
        return out

    def _in_base(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each id's position in the base and whether it is held there (and alive)."""
        if len(self._base_ids) == 0:
            return np.zeros(len(ids), np.int64), np.zeros(len(ids), bool)
        at = np.minimum(np.searchsorted(self._base_ids, ids), len(self._base_ids) - 1)
        hit = np.asarray(self._base_ids[at] == ids)
        if self._alive is not None:
            hit &= self._alive[at]
        return at, hit

    def _merged_new(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._new_ids) != 1:
            ids = np.concatenate(self._new_ids) if self._new_ids else np.zeros(0, np.int64)
            rows = (
                np.concatenate(self._new_rows)
                if self._new_rows
                else np.zeros((0, self.dim), np.float16)
            )
            self._new_ids, self._new_rows = [ids], [rows]
        return self._new_ids[0], self._new_rows[0]

    def _new_order(self, new_ids: np.ndarray) -> np.ndarray:
        if self._sorted is None or len(self._sorted[0]) != len(new_ids):
            order = np.argsort(new_ids, kind="stable")
            self._sorted = (new_ids[order], order)
        return self._sorted[1]

    # ---- the file's tail ------------------------------------------------------------------

    def write(self, fh: BinaryIO, offset: int) -> None:
        """Append the tail to ``fh``, whose next byte is at ``offset``."""
        base_ids = self._base_ids if self._alive is None else self._base_ids[self._alive]
        base_at = (
            np.arange(len(self._base_ids)) if self._alive is None else np.flatnonzero(self._alive)
        )
        new_ids, _ = self._merged_new()
        ids = np.concatenate([np.asarray(base_ids), new_ids])
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        if len(sorted_ids) > 1 and bool(np.any(sorted_ids[1:] == sorted_ids[:-1])):
            raise ValueError("faiss: an id is held twice among the exact vectors")
        fh.write(sorted_ids.tobytes())
        n_base = len(base_ids)
        new_rows = self._new_rows[0] if self._new_rows else np.zeros((0, self.dim), np.float16)
        for start in range(0, len(order), CHUNK):
            part = order[start : start + CHUNK]
            rows = np.empty((len(part), self.dim), np.float16)
            from_base = part < n_base
            rows[from_base] = self._base[base_at[part[from_base]]]
            rows[~from_base] = new_rows[part[~from_base] - n_base]
            fh.write(rows.tobytes())
        fh.write(FOOTER.pack(MAGIC, len(ids), self.dim, offset, self.trained_on))

    @classmethod
    def open(cls, path: str, dim: int) -> ExactRows | None:
        """The tail of the index file at ``path`` (mapped read-only), or None when it has none.
        ValueError when the tail is there but does not fit the file."""
        size = os.path.getsize(path)
        if size < FOOTER.size:
            return None
        with open(path, "rb") as f:
            f.seek(size - FOOTER.size)
            magic, n, width, offset, trained_on = FOOTER.unpack(f.read(FOOTER.size))
        if magic != MAGIC:
            return None
        end = offset + n * 8 + n * width * 2
        if width != dim or n < 0 or offset < 0 or end != size - FOOTER.size:
            raise ValueError(f"faiss: {path}: its exact vectors do not fit the file")
        out = cls(dim, trained_on)
        if n:
            out._base_ids = np.memmap(path, np.int64, "r", offset=offset, shape=(n,))
            rows: Any = np.memmap(path, np.float16, "r", offset=offset + n * 8, shape=(n, dim))
            out._base = rows
        return out
